"""Personal data of accounts: the user row, sessions, sign-in state, roles and the audit log.

Erasure pseudonymises the ``users`` row (it stays: ledger accounts, identity and consent
records and the moderation log reference it) and removes the password hash, the TOTP secret
and the date of birth; sessions, challenges, recovery codes, back-off counters and roles are
deleted. The account's own sign-in history leaves the audit log; entries recording what others
did to the account or what the account did to others (identity reads, role grants, consent) are
kept for accountability, without the account's IP address.
"""

from __future__ import annotations

import json
from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained

# Audit actions about the account's own sign-in activity: deleted on erasure.
OWN_ACTIVITY = [
    "signup",
    "login.%",
    "logout",
    "session.%",
    "password.%",
    "2fa.%",
    "reauth.%",
    "email.%",
]  # LIKE
ERASED_PASSWORD = "!erased"  # not a bcrypt hash: no password matches it


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    u = await ctx.conn.fetchrow(
        "SELECT id, email, handle, date_of_birth, created_at, password_changed_at, "
        "totp_enabled, status, suspended_until, "
        "array(SELECT role FROM user_roles WHERE user_id = users.id ORDER BY role) AS roles "
        "FROM users WHERE id = $1",
        uid,
    )
    assert u is not None  # the subject's row, locked by the export
    sessions = await ctx.conn.fetch(
        "SELECT created_at, last_seen_at, expires_at, ip, user_agent FROM sessions "
        "WHERE user_id = $1 ORDER BY created_at",
        uid,
    )
    # Entries about the account (not what it did to others: those name other people), with
    # the IP address only of its own actions (a moderator's address is theirs).
    audit = await ctx.conn.fetch(
        "SELECT at, action, target, CASE WHEN actor_id = $1 THEN ip END AS ip, meta "
        "FROM audit_log WHERE subject_id = $1 ORDER BY id",
        uid,
    )
    return {
        "account.json": {
            "id": u["id"],
            "email": u["email"],
            "handle": u["handle"],
            "dateOfBirth": u["date_of_birth"],
            "createdAt": u["created_at"],
            "passwordChangedAt": u["password_changed_at"],
            "twoFactorEnabled": u["totp_enabled"],
            "status": u["status"],
            "suspendedUntil": u["suspended_until"],
            "roles": list(u["roles"]),
        },
        "sessions.json": [
            {
                "createdAt": s["created_at"],
                "lastSeenAt": s["last_seen_at"],
                "expiresAt": s["expires_at"],
                "ip": s["ip"],
                "userAgent": s["user_agent"],
            }
            for s in sessions
        ],
        "audit_log.json": [
            {
                "at": a["at"],
                "action": a["action"],
                "target": a["target"],
                "ip": a["ip"],
                "meta": json.loads(a["meta"]),
            }
            for a in audit
        ],
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid, old, new = ctx.conn, ctx.subject.user_id, ctx.subject, ctx.pseudonym
    await conn.execute("DELETE FROM sessions WHERE user_id = $1", uid)
    await conn.execute("DELETE FROM login_challenges WHERE user_id = $1", uid)
    await conn.execute("DELETE FROM two_factor_recovery_codes WHERE user_id = $1", uid)
    await conn.execute("DELETE FROM login_throttle WHERE key = $1", f"acct:{old.email}")
    await conn.execute("DELETE FROM user_roles WHERE user_id = $1", uid)
    ctx.cleanup.redis_needles.append(str(uid))  # API rate-limit counters (api/ratelimit.py)
    await conn.execute("UPDATE user_roles SET granted_by = NULL WHERE granted_by = $1", uid)
    await conn.execute(
        "DELETE FROM audit_log WHERE (actor_id = $1 OR subject_id = $1) "
        "AND (actor_id = $1 OR actor_id IS NULL) AND action LIKE ANY($2::text[])",
        uid,
        OWN_ACTIVITY,
    )
    await conn.execute("UPDATE audit_log SET ip = NULL WHERE actor_id = $1", uid)
    # The old handle or email quoted in a kept entry becomes the pseudonym.
    for before, after in ((old.email, new.email), (old.handle, new.handle)):
        await conn.execute(
            "UPDATE audit_log SET target = replace(target, $1, $2), "
            "meta = replace(meta::text, $1, $2)::jsonb "
            "WHERE strpos(coalesce(target, ''), $1) > 0 OR strpos(meta::text, $1) > 0",
            before,
            after,
        )
    await conn.execute(
        "UPDATE users SET email = $2, handle = $3, password_hash = $4, totp_secret = NULL, "
        "totp_enabled = false, totp_last_step = 0, date_of_birth = '1900-01-01', "
        "status = 'erased', suspended_until = NULL, password_changed_at = now() WHERE id = $1",
        uid,
        new.email,
        new.handle,
        ERASED_PASSWORD,
    )


REGISTRY.register(
    PersonalData(
        name="accounts",
        tables=(
            "users",
            "sessions",
            "login_challenges",
            "login_throttle",
            "two_factor_recovery_codes",
            "user_roles",
            "audit_log",
        ),
        export=export,
        erase=erase,
        retained=(
            Retained("users", "id = $1", "pseudonymised row: retained records reference it"),
            Retained(
                "audit_log",
                "actor_id = $1 OR subject_id = $1",
                "accountability: identity reads, role grants, consent and safety actions",
            ),
        ),
        order=90,
    )
)
