"""Erase an account: every registered package's erase step in one database transaction, then
the clean-up outside PostgreSQL.

What is not under a retention duty is deleted; what is (ledger, purchases, identity and
consent records, the moderation log, accountability entries of the audit log) is kept, and the
account row is pseudonymised with status ``erased``: it cannot sign in, its sessions are gone,
and readers of retained records skip erased accounts (locked and hidden). See README, GDPR.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from api.auth import audit
from api.privacy import store
from api.privacy.errors import AccountNotFound, AlreadyErased, ErasureBlockedLive
from api.privacy.packages import REGISTRY
from api.privacy.registry import Cleanup, EraseContext, Subject


@dataclass(frozen=True)
class Erasure:
    user_id: uuid.UUID
    erased_at: datetime
    retain_until: datetime
    retained_tables: list[str]
    cleanup: Cleanup


def pseudonym(user_id: uuid.UUID) -> Subject:
    """Random, so the new handle and email say nothing about the old ones or the id."""
    tag = secrets.token_hex(8)
    return Subject(user_id, f"erased-{secrets.token_hex(16)}@erased.invalid", f"erased_{tag}")


async def erase_account(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    *,
    actor_id: uuid.UUID,
    retain_years: int,
) -> Erasure:
    """Erase ``user_id`` in one transaction (on ``actor_id``'s request: the user or an admin).

    Raises `AccountNotFound`, `AlreadyErased` (409) or `ErasureBlockedLive` (409, a live
    broadcast must end first). The caller runs ``cleanup`` after this returns.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT email, handle, status FROM users WHERE id = $1 FOR UPDATE", user_id
        )
        if row is None:
            raise AccountNotFound("no such user")
        if row["status"] == "erased":
            raise AlreadyErased("this account is already erased")
        if await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM streams WHERE creator_id = $1 AND state = 'live')",
            user_id,
        ):
            raise ErasureBlockedLive("end the live broadcast first")
        ctx = EraseContext(conn, Subject(user_id, row["email"], row["handle"]), pseudonym(user_id))
        for item in REGISTRY.all():
            if item.erase is not None:
                await item.erase(ctx)
        by_admin = actor_id != user_id
        done = await store.record_erasure(
            conn, user_id, by_admin=by_admin, retain_years=retain_years, cleanup=ctx.cleanup
        )
        await audit.record(
            conn,
            "account.erased",
            actor_id=actor_id,
            subject_id=user_id,
            meta={"byAdmin": by_admin},
        )
    return Erasure(
        user_id=user_id,
        erased_at=done["erased_at"],
        retain_until=done["retain_until"],
        retained_tables=sorted({r.table for r in REGISTRY.retained()}),
        cleanup=ctx.cleanup,
    )
