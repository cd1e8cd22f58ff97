"""Stream goals: a target in tokens that a stream's tips count towards, and its completion.

A goal's progress is the sum of the tips that name it (a tip names the stream's open goal, read
by the tip's own statement). Nothing is added to a goal row per tip: on a busy stream that row
would serialize every tip, the hot-account problem again. Completion is one conditional
``UPDATE … WHERE state = 'open'``, so a goal completes exactly once whichever node sees it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from api.wallet.errors import GoalAlreadyOpen
from teezu.db import Db

_COLUMNS = "g.id, g.stream_id, g.title, g.target, g.state, g.created_at, g.ended_at, g.mode"
# Tips mode: the tips that name the goal. Pledge mode: its pledges that are held or captured
# (a released or expired pledge no longer counts).
_PROGRESS = (
    "(CASE g.mode WHEN 'pledge' THEN (SELECT coalesce(sum(h.amount), 0) FROM ledger_holds h "
    "WHERE h.ref_id = g.id AND h.purpose = 'pledge' AND h.state IN ('held', 'captured')) "
    "ELSE (SELECT coalesce(sum(e.amount), 0) FROM ledger_transactions t "
    "JOIN ledger_entries e ON e.tx_id = t.id "
    "WHERE t.goal_id = g.id AND t.kind = 'tip' AND e.amount > 0) END)::bigint"
)  # sum() of bigint is numeric: cast back, or asyncpg hands out a Decimal (not JSON for Socket.IO)


@dataclass(frozen=True)
class Goal:
    id: uuid.UUID
    stream_id: uuid.UUID
    title: str
    target: int
    state: str  # open | completed | cancelled
    created_at: datetime
    ended_at: datetime | None
    progress: int
    mode: str = "tips"  # tips | pledge (refundable pledges: holds until it completes)

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "title": self.title,
            "target": self.target,
            "progress": self.progress,
            "state": self.state,
            "mode": self.mode,
            "createdAt": self.created_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
        }


def _goal(row: Any) -> Goal:
    return Goal(**{k: row[k] for k in Goal.__dataclass_fields__})


async def current(db: Db, stream_id: uuid.UUID) -> Goal | None:
    """The stream's open goal, else its most recent one (with progress), else None."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, {_PROGRESS} AS progress FROM stream_goals g "
        "WHERE g.stream_id = $1 ORDER BY g.state = 'open' DESC, g.created_at DESC LIMIT 1",
        stream_id,
    )
    return _goal(row) if row else None


async def get(db: Db, goal_id: uuid.UUID) -> Goal | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, {_PROGRESS} AS progress FROM stream_goals g WHERE g.id = $1", goal_id
    )
    return _goal(row) if row else None


async def create(
    db: Db, stream_id: uuid.UUID, *, title: str, target: int, mode: str = "tips"
) -> Goal:
    """Open a goal; `GoalAlreadyOpen` if the stream has one."""
    try:
        row = await db.fetchrow(
            "INSERT INTO stream_goals AS g (id, stream_id, title, target, mode) "
            f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}, 0::bigint AS progress",
            uuid.uuid4(),
            stream_id,
            title,
            target,
            mode,
        )
    except asyncpg.UniqueViolationError:
        raise GoalAlreadyOpen(
            "this stream already has an open goal", meta={"streamId": str(stream_id)}
        ) from None
    return _goal(row)


async def cancel(db: Db, stream_id: uuid.UUID) -> Goal | None:
    """Cancel the stream's open goal (tips already given stay given; the caller releases the
    pledges of a pledge goal); None if none is open."""
    row = await db.fetchrow(
        "UPDATE stream_goals AS g SET state = 'cancelled', ended_at = now() "
        "WHERE g.stream_id = $1 AND g.state = 'open' "
        f"RETURNING {_COLUMNS}, {_PROGRESS} AS progress",
        stream_id,
    )
    return _goal(row) if row else None


async def complete_if_reached(db: Db, goal_id: uuid.UUID) -> Goal | None:
    """Complete an open goal whose tips reached its target; the goal if this call completed
    it (exactly one caller ever does), else None."""
    row = await db.fetchrow(
        "UPDATE stream_goals AS g SET state = 'completed', ended_at = now() "
        f"WHERE g.id = $1 AND g.state = 'open' AND g.target <= {_PROGRESS} "
        f"RETURNING {_COLUMNS}, {_PROGRESS} AS progress",
        goal_id,
    )
    return _goal(row) if row else None
