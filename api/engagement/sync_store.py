"""SQL for StripSync's ``sync_actions`` and ``sync_votes`` (migration 0146)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from api.engagement.errors import SyncQueueFull
from teezu.db import Db

MAX_QUEUED = 10


@dataclass(frozen=True, slots=True)
class SyncAction:
    id: uuid.UUID
    stream_id: uuid.UUID
    label: str
    state: str  # queued | picked | dropped
    queued_at: datetime
    points: int
    voters: int
    picked_at: datetime | None
    pick_order: int | None

    def wire(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "label": self.label,
            "state": self.state,
            "points": self.points,
            "voters": self.voters,
            "order": self.pick_order,
            "pickedAt": self.picked_at.isoformat() if self.picked_at else None,
        }


_SELECT = (
    "SELECT a.id, a.stream_id, a.label, a.state, a.queued_at, a.picked_at, a.pick_order, "
    "coalesce(a.points, (SELECT sum(v.weight) FROM sync_votes v WHERE v.action_id = a.id), 0)"
    "::bigint AS points, "
    "(SELECT count(DISTINCT v.voter_id) FROM sync_votes v WHERE v.action_id = a.id)::int "
    "AS voters FROM sync_actions a"
)


def _action(row: Any) -> SyncAction:
    return SyncAction(**{k: row[k] for k in SyncAction.__dataclass_fields__})


async def _lock(conn: Db, stream_id: uuid.UUID) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 1446))", str(stream_id)
    )


async def enqueue(pool: asyncpg.Pool, stream_id: uuid.UUID, labels: list[str]) -> None:
    """Queue actions after the ones queued; `SyncQueueFull` past ``MAX_QUEUED`` waiting."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, stream_id)
        waiting = await conn.fetchval(
            "SELECT count(*) FROM sync_actions WHERE stream_id = $1 AND state = 'queued'",
            stream_id,
        )
        if waiting + len(labels) > MAX_QUEUED:
            raise SyncQueueFull(
                f"at most {MAX_QUEUED} actions wait at a time",
                meta={"queued": waiting, "max": MAX_QUEUED},
            )
        for label in labels:  # one by one: clock_timestamp() keeps their order
            await conn.execute(
                "INSERT INTO sync_actions (id, stream_id, label) VALUES ($1, $2, $3)",
                uuid.uuid4(),
                stream_id,
                label,
            )


async def get(db: Db, action_id: uuid.UUID) -> SyncAction | None:
    row = await db.fetchrow(f"{_SELECT} WHERE a.id = $1", action_id)
    return _action(row) if row else None


async def board(db: Db, stream_id: uuid.UUID) -> tuple[list[SyncAction], list[SyncAction]]:
    """The queued actions (heaviest first, then oldest) and the last 10 picked (in order)."""
    queued = await db.fetch(
        f"{_SELECT} WHERE a.stream_id = $1 AND a.state = 'queued' "
        "ORDER BY points DESC, a.queued_at",
        stream_id,
    )
    picked = await db.fetch(
        f"{_SELECT} WHERE a.stream_id = $1 AND a.state = 'picked' "
        "ORDER BY a.pick_order DESC LIMIT 10",
        stream_id,
    )
    return [_action(r) for r in queued], [_action(r) for r in reversed(picked)]


async def drop(db: Db, stream_id: uuid.UUID, action_id: uuid.UUID) -> bool:
    done = await db.fetchval(
        "UPDATE sync_actions SET state = 'dropped' WHERE id = $1 AND stream_id = $2 "
        "AND state = 'queued' RETURNING 1",
        action_id,
        stream_id,
    )
    return done is not None


VoteOutcome = Literal["added", "exists", "gone"]


async def add_vote(
    db: Db, action_id: uuid.UUID, voter: uuid.UUID, *, weight: int, tip_id: int | None
) -> VoteOutcome:
    """Count a vote for a queued action: ``added``; ``exists`` (this voter's free vote, or
    this tip, was counted); ``gone`` (picked or dropped meanwhile)."""
    row = await db.fetchrow(
        "WITH action AS (SELECT id FROM sync_actions WHERE id = $1 AND state = 'queued' "
        "FOR SHARE), "
        "ins AS (INSERT INTO sync_votes (action_id, voter_id, weight, tip_id) "
        "SELECT id, $2, $3, $4 FROM action ON CONFLICT DO NOTHING RETURNING 1) "
        "SELECT (SELECT count(*) FROM action) AS open, (SELECT count(*) FROM ins) AS added",
        action_id,
        voter,
        weight,
        tip_id,
    )
    assert row is not None
    if row["added"]:
        return "added"
    return "exists" if row["open"] else "gone"


async def pick(pool: asyncpg.Pool, stream_id: uuid.UUID) -> SyncAction | None:
    """Take the heaviest queued action (the oldest among equals) as the stream's next; None
    when nothing is queued. Each action is picked once, each pick has the next order."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, stream_id)
        locked = await conn.fetch(
            "SELECT id FROM sync_actions WHERE stream_id = $1 AND state = 'queued' FOR UPDATE",
            stream_id,
        )
        if not locked:
            return None
        # A new statement: every vote that got its FOR SHARE lock before ours is counted.
        top = await conn.fetchrow(
            f"{_SELECT} WHERE a.stream_id = $1 AND a.state = 'queued' "
            "ORDER BY points DESC, a.queued_at LIMIT 1",
            stream_id,
        )
        assert top is not None
        await conn.execute(
            "UPDATE sync_actions SET state = 'picked', picked_at = now(), points = $2, "
            "pick_order = (SELECT coalesce(max(pick_order), 0) + 1 FROM sync_actions "
            "WHERE stream_id = $3) WHERE id = $1",
            top["id"],
            top["points"],
            stream_id,
        )
        row = await conn.fetchrow(f"{_SELECT} WHERE a.id = $1", top["id"])
    return _action(row)
