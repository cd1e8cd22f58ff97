"""SQL for ``user_blocks``: who blocked whom. `between` is what comments, the feed and direct
messages ask (a block either way round separates the two accounts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from teezu.db import Db


@dataclass(frozen=True)
class BlockRow:
    user_id: uuid.UUID
    handle: str
    since: datetime


async def block(db: Db, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
    """True if this is a new block (blocking twice is not an error). A block also ends the
    blocker's follow of the blocked account and the other way round."""
    status = await db.execute(
        "WITH gone AS (DELETE FROM follows WHERE (follower_id = $1 AND creator_id = $2) "
        "  OR (follower_id = $2 AND creator_id = $1)) "
        "INSERT INTO user_blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        blocker_id,
        blocked_id,
    )
    return bool(status == "INSERT 0 1")


async def unblock(db: Db, blocker_id: uuid.UUID, blocked_id: uuid.UUID) -> bool:
    status = await db.execute(
        "DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2", blocker_id, blocked_id
    )
    return bool(status == "DELETE 1")


async def between(db: Db, a: uuid.UUID, b: uuid.UUID) -> bool:
    """Whether either account blocked the other."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM user_blocks WHERE (blocker_id = $1 AND blocked_id = $2) "
            "OR (blocker_id = $2 AND blocked_id = $1))",
            a,
            b,
        )
    )


async def blocked_by(db: Db, blocker_id: uuid.UUID, *, limit: int, offset: int) -> list[BlockRow]:
    rows = await db.fetch(
        "SELECT u.id AS user_id, u.handle, b.created_at AS since FROM user_blocks b "
        "JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 "
        "ORDER BY b.created_at DESC, u.id LIMIT $2 OFFSET $3",
        blocker_id,
        limit,
        offset,
    )
    return [BlockRow(r["user_id"], r["handle"], r["since"]) for r in rows]
