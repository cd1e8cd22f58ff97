"""SQL for ``follows``: who follows which creator. `is_follower` is what the chat layer calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from teezu.db import Db


@dataclass(frozen=True)
class FollowRow:
    user_id: uuid.UUID
    handle: str
    since: datetime


async def is_follower(pool: Db, follower_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
    """Whether ``follower_id`` follows ``creator_id`` (the creator does not follow themself)."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND creator_id = $2)",
            follower_id,
            creator_id,
        )
    )


async def follow(db: Db, follower_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
    """True if this is a new follow (following twice is not an error)."""
    status = await db.execute(
        "INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        follower_id,
        creator_id,
    )
    return bool(status == "INSERT 0 1")


async def unfollow(db: Db, follower_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
    status = await db.execute(
        "DELETE FROM follows WHERE follower_id = $1 AND creator_id = $2", follower_id, creator_id
    )
    return bool(status == "DELETE 1")


async def followers(db: Db, creator_id: uuid.UUID, *, limit: int, offset: int) -> list[FollowRow]:
    rows = await db.fetch(
        "SELECT u.id AS user_id, u.handle, f.created_at AS since FROM follows f "
        "JOIN users u ON u.id = f.follower_id WHERE f.creator_id = $1 "
        "ORDER BY f.created_at DESC, u.id LIMIT $2 OFFSET $3",
        creator_id,
        limit,
        offset,
    )
    return [FollowRow(**dict(r)) for r in rows]


async def following(db: Db, follower_id: uuid.UUID, *, limit: int, offset: int) -> list[FollowRow]:
    rows = await db.fetch(
        "SELECT u.id AS user_id, u.handle, f.created_at AS since FROM follows f "
        "JOIN users u ON u.id = f.creator_id WHERE f.follower_id = $1 "
        "ORDER BY f.created_at DESC, u.id LIMIT $2 OFFSET $3",
        follower_id,
        limit,
        offset,
    )
    return [FollowRow(**dict(r)) for r in rows]


async def counts(db: Db, user_id: uuid.UUID) -> tuple[int, int]:
    """``(followers, following)`` of a user."""
    r = await db.fetchrow(
        "SELECT (SELECT count(*) FROM follows WHERE creator_id = $1) AS followers, "
        "(SELECT count(*) FROM follows WHERE follower_id = $1) AS following",
        user_id,
    )
    assert r is not None  # the query always returns a row
    return int(r["followers"]), int(r["following"])
