"""Unlockables' SQL, and their progress read from the ledger's tips.

Progress is never a column: a per-viewer unlockable sums the viewer's own tips (their wallet's
entries, an index range of one viewer's history); a room unlockable sums the tips on its
stream since it was made (an index range of the stream's tips). Either way nothing is updated
per tip, so tips to a busy room never wait on an unlockable (the hot-account rule).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Db

_COLUMNS = (
    "id, creator_id, stream_id, title, payload, scope, threshold, active, created_at, unlocked_at"
)

# Tokens the viewer ($1) has tipped to the creator ($2), on one stream ($3) or on any of theirs.
_VIEWER_PROGRESS = """
SELECT coalesce(-sum(e.amount), 0)
FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id
WHERE e.account_id = (SELECT id FROM ledger_accounts WHERE kind = 'wallet' AND owner_id = $1)
  AND e.amount < 0 AND t.kind = 'tip'
  AND CASE WHEN $3::uuid IS NULL
           THEN t.stream_id IN (SELECT id FROM streams WHERE creator_id = $2)
           ELSE t.stream_id = $3 END
"""

# Tokens tipped on the stream ($1) since $2: the creator's, platform's and referrer's credits.
_ROOM_PROGRESS = """
SELECT coalesce(sum(e.amount), 0)
FROM ledger_transactions t JOIN ledger_entries e ON e.tx_id = t.id
WHERE t.stream_id = $1 AND t.kind = 'tip' AND t.created_at >= $2 AND e.amount > 0
"""


@dataclass(frozen=True)
class Unlockable:
    id: uuid.UUID
    creator_id: uuid.UUID
    stream_id: uuid.UUID | None
    title: str
    payload: str
    scope: str  # viewer | room
    threshold: int
    active: bool
    created_at: datetime
    unlocked_at: datetime | None

    def public(self) -> dict[str, Any]:
        """Everything but the payload."""
        return {
            "id": str(self.id),
            "creatorId": str(self.creator_id),
            "streamId": str(self.stream_id) if self.stream_id else None,
            "title": self.title,
            "scope": self.scope,
            "threshold": self.threshold,
            "active": self.active,
            "createdAt": self.created_at.isoformat(),
        }


def _unlockable(row: Any) -> Unlockable:
    return Unlockable(**dict(row))


async def create(
    db: Db,
    creator_id: uuid.UUID,
    *,
    title: str,
    payload: str,
    scope: str,
    threshold: int,
    stream_id: uuid.UUID | None,
) -> Unlockable:
    row = await db.fetchrow(
        "INSERT INTO unlockables (id, creator_id, stream_id, title, payload, scope, threshold) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
        uuid.uuid4(),
        creator_id,
        stream_id,
        title,
        payload,
        scope,
        threshold,
    )
    return _unlockable(row)


async def get(db: Db, unlockable_id: uuid.UUID) -> Unlockable | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM unlockables WHERE id = $1", unlockable_id)
    return _unlockable(row) if row else None


async def update(
    db: Db,
    unlockable_id: uuid.UUID,
    *,
    title: str | None = None,
    payload: str | None = None,
    active: bool | None = None,
) -> Unlockable | None:
    row = await db.fetchrow(
        "UPDATE unlockables SET title = coalesce($2, title), payload = coalesce($3, payload), "
        f"active = coalesce($4, active) WHERE id = $1 RETURNING {_COLUMNS}",
        unlockable_id,
        title,
        payload,
        active,
    )
    return _unlockable(row) if row else None


async def of_creator(
    db: Db,
    creator_id: uuid.UUID,
    *,
    include_inactive: bool,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[Unlockable]:
    """A creator's unlockables, newest first (keyset on (created_at, id))."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM unlockables WHERE creator_id = $1 AND (active OR $2) "
        "AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) "
        "ORDER BY created_at DESC, id DESC LIMIT $5",
        creator_id,
        include_inactive,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return [_unlockable(r) for r in rows]


async def watching(db: Db, stream_id: uuid.UUID) -> list[Unlockable]:
    """The active unlockables a tip on this stream may unlock: its room's (not yet unlocked)
    and its creator's per-viewer ones (creator-wide, or for this stream)."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM unlockables u WHERE u.active AND ("
        "  (u.scope = 'room' AND u.stream_id = $1 AND u.unlocked_at IS NULL)"
        "  OR (u.scope = 'viewer' AND (u.stream_id = $1 OR (u.stream_id IS NULL AND "
        "      u.creator_id = (SELECT creator_id FROM streams WHERE id = $1)))))",
        stream_id,
    )
    return [_unlockable(r) for r in rows]


async def viewer_progress(db: Db, unlockable: Unlockable, viewer_id: uuid.UUID) -> int:
    return int(
        await db.fetchval(_VIEWER_PROGRESS, viewer_id, unlockable.creator_id, unlockable.stream_id)
    )


async def room_progress(db: Db, unlockable: Unlockable) -> int:
    assert unlockable.stream_id is not None
    return int(await db.fetchval(_ROOM_PROGRESS, unlockable.stream_id, unlockable.created_at))


async def has_unlocked(db: Db, unlockable_id: uuid.UUID, viewer_id: uuid.UUID) -> bool:
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM unlockable_unlocks "
            "WHERE unlockable_id = $1 AND viewer_id = $2)",
            unlockable_id,
            viewer_id,
        )
    )


async def record_viewer_unlock(db: Db, unlockable_id: uuid.UUID, viewer_id: uuid.UUID) -> bool:
    """Record that the viewer unlocked it; True for the one call that recorded it first."""
    done = await db.fetchval(
        "INSERT INTO unlockable_unlocks (unlockable_id, viewer_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING true",
        unlockable_id,
        viewer_id,
    )
    return bool(done)


async def record_room_unlock(db: Db, unlockable: Unlockable) -> bool:
    """Mark a room unlockable unlocked if its room's tips reached the threshold; True for the
    one call (on any node) that did."""
    done = await db.fetchval(
        "UPDATE unlockables u SET unlocked_at = now() "
        "WHERE u.id = $1 AND u.scope = 'room' AND u.unlocked_at IS NULL AND u.threshold <= ("
        "  SELECT coalesce(sum(e.amount), 0) FROM ledger_transactions t "
        "  JOIN ledger_entries e ON e.tx_id = t.id "
        "  WHERE t.stream_id = u.stream_id AND t.kind = 'tip' AND t.created_at >= u.created_at "
        "  AND e.amount > 0) "
        "RETURNING true",
        unlockable.id,
    )
    return bool(done)
