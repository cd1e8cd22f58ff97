"""Server-side sessions: a random id in an httpOnly cookie, only its SHA-256 in the database.

A session expires when unused for ``session_idle_days`` (each use pushes that out: sliding
expiry) and at the latest ``session_max_days`` after sign-in. Deleting the row revokes it at
once: every request looks the row up.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any

from aiohttp import web

from teezu.db import Db
from teezu.settings import Settings

COOKIE = "session"
TOUCH_EVERY = 60  # seconds: how stale last_seen_at may get before a request refreshes it


def new_session_id() -> tuple[str, bytes]:
    """``(cookie value, stored hash)``. 256 random bits: a fast hash is enough."""
    value = secrets.token_urlsafe(32)
    return value, hash_id(value)


def hash_id(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def cookie_value(headers: Any) -> str | None:
    """The session cookie from request headers, or None."""
    raw = headers.get("Cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    if morsel is None or not morsel.value or len(morsel.value) > 128:
        return None
    return morsel.value


def set_cookie(response: web.StreamResponse, value: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(settings.session_max_days * 86400),
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="Lax",
    )


def clear_cookie(response: web.StreamResponse, settings: Settings) -> None:
    response.del_cookie(
        COOKIE, path="/", httponly=True, secure=settings.secure_cookies, samesite="Lax"
    )


@dataclass(frozen=True)
class SessionRow:
    id_hash: bytes
    user_id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None

    @property
    def public_id(self) -> str:
        return self.id_hash.hex()


async def create(
    db: Db, user_id: uuid.UUID, settings: Settings, *, ip: str | None, user_agent: str | None
) -> str:
    """Start a session; returns the cookie value (never stored)."""
    value, id_hash = new_session_id()
    await db.execute(
        "DELETE FROM sessions WHERE user_id = $1 "
        "AND (expires_at < now() OR absolute_expires_at < now())",
        user_id,
    )
    await db.execute(
        "INSERT INTO sessions (id_hash, user_id, expires_at, absolute_expires_at, ip, user_agent) "
        "VALUES ($1, $2, now() + make_interval(secs => $3), now() + make_interval(secs => $4), "
        "$5, $6)",
        id_hash,
        user_id,
        settings.session_idle_days * 86400,
        settings.session_max_days * 86400,
        ip,
        (user_agent or "")[:300] or None,
    )
    return value


async def lookup(db: Db, id_hash: bytes, settings: Settings) -> Any:
    """The live session's user and roles, extending its idle expiry when due."""
    r = await db.fetchrow(
        "SELECT s.user_id, s.last_seen_at < now() - make_interval(secs => $2) AS stale, "
        "u.handle, array(SELECT role FROM user_roles r WHERE r.user_id = u.id) AS roles, "
        # Live memberships (api.memberships): their roles and badges go with the principal.
        "array(SELECT m.plan FROM memberships m WHERE m.user_id = u.id "
        "AND m.state IN ('active', 'grace') AND m.access_until > now()) AS plans "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.id_hash = $1 AND s.expires_at > now() AND s.absolute_expires_at > now() "
        # Suspended and banned accounts lose their sessions (a lapsed suspension does not).
        "AND (u.status = 'active' OR (u.status = 'suspended' AND u.suspended_until <= now()))",
        id_hash,
        float(TOUCH_EVERY),
    )
    if r is not None and r["stale"]:
        await db.execute(
            "UPDATE sessions SET last_seen_at = now(), "
            "expires_at = least(now() + make_interval(secs => $2), absolute_expires_at) "
            "WHERE id_hash = $1",
            id_hash,
            settings.session_idle_days * 86400,
        )
    return r


async def list_for(db: Db, user_id: uuid.UUID) -> list[SessionRow]:
    rows = await db.fetch(
        "SELECT id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent "
        "FROM sessions WHERE user_id = $1 AND expires_at > now() AND absolute_expires_at > now() "
        "ORDER BY last_seen_at DESC",
        user_id,
    )
    return [SessionRow(**dict(r)) for r in rows]


async def revoke(db: Db, id_hash: bytes, *, user_id: uuid.UUID | None = None) -> bool:
    """Delete a session (only the user's own when ``user_id`` is given)."""
    status = await db.execute(
        "DELETE FROM sessions WHERE id_hash = $1 AND ($2::uuid IS NULL OR user_id = $2)",
        id_hash,
        user_id,
    )
    return bool(status == "DELETE 1")


async def revoke_all(db: Db, user_id: uuid.UUID, *, keep: bytes | None = None) -> int:
    status = await db.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)",
        user_id,
        keep,
    )
    return int(status.split()[-1])


async def new_challenge(db: Db, user_id: uuid.UUID, *, ttl: int = 300) -> str:
    """The second step of a 2FA login: a short-lived random challenge (stored hashed)."""
    value, id_hash = new_session_id()
    await db.execute("DELETE FROM login_challenges WHERE expires_at < now()")
    await db.execute(
        "INSERT INTO login_challenges (id_hash, user_id, expires_at) "
        "VALUES ($1, $2, now() + make_interval(secs => $3))",
        id_hash,
        user_id,
        float(ttl),
    )
    return value


async def challenge_user(db: Db, value: str, *, max_attempts: int = 5) -> uuid.UUID | None:
    """The user a live challenge belongs to; counts the attempt (None past ``max_attempts``)."""
    return await db.fetchval(
        "UPDATE login_challenges SET attempts = attempts + 1 "
        "WHERE id_hash = $1 AND expires_at > now() AND attempts < $2 RETURNING user_id",
        hash_id(value),
        max_attempts,
    )


async def drop_challenge(db: Db, value: str) -> None:
    await db.execute("DELETE FROM login_challenges WHERE id_hash = $1", hash_id(value))


async def confirm(db: Db, id_hash: bytes) -> None:
    """Record that the session's owner just confirmed their password (re-authentication)."""
    await db.execute("UPDATE sessions SET confirmed_at = now() WHERE id_hash = $1", id_hash)


async def confirmed_within(db: Db, id_hash: bytes, seconds: float) -> bool:
    """Whether the session's owner confirmed their password (or signed in) in the last
    ``seconds``."""
    return bool(
        await db.fetchval(
            "SELECT confirmed_at > now() - make_interval(secs => $2) FROM sessions "
            "WHERE id_hash = $1",
            id_hash,
            float(seconds),
        )
    )
