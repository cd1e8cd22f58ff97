"""What a tip sets off in the room besides the tip itself: dynamic milestones and the
reactive avatar. Both hang on the wallet's money events (`MoneyEvents.tipped_hooks`) and
announce on the stream's money channel, so the room hears ``money:milestone.reached`` and
``money:avatar`` through the chat's money relay on every node.

Milestones: a stream's ladder of targets (tokens tipped to the stream since the milestone
was set). After tips, at most every ``interval`` seconds per stream, one conditional
``UPDATE … WHERE reached_at IS NULL AND target <= progress RETURNING`` marks the milestones
reached: each is reached, and announced, exactly once whichever node ran it.

Avatar: the pure state machine of `api.engagement.avatar` over a row per stream; a change is
an UPDATE conditional on the row's version, so two nodes never both announce one, and the
node that set a state times its end (idle again), announced once the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.engagement.avatar import IDLE, Avatar, Thresholds, react
from api.engagement.marks import publish_mark
from api.wallet.events import MoneyEvents
from engine.room_timeline import Mark
from teezu.db import Db

log = logging.getLogger(__name__)

_PROGRESS = (
    "(SELECT coalesce(sum(e.amount), 0) FROM ledger_transactions t "
    "JOIN ledger_entries e ON e.tx_id = t.id WHERE t.stream_id = m.stream_id "
    "AND t.kind = 'tip' AND e.amount > 0 AND t.created_at >= m.created_at)::bigint"
)


@dataclass(frozen=True, slots=True)
class Milestone:
    id: uuid.UUID
    stream_id: uuid.UUID
    title: str
    target: int
    progress: int
    created_at: datetime
    reached_at: datetime | None

    def wire(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "title": self.title,
            "target": self.target,
            "progress": self.progress,
            "reachedAt": self.reached_at.isoformat() if self.reached_at else None,
        }


def _milestone(row: Any) -> Milestone:
    return Milestone(**{k: row[k] for k in Milestone.__dataclass_fields__})


_M_COLUMNS = (
    f"m.id, m.stream_id, m.title, m.target, m.created_at, m.reached_at, {_PROGRESS} AS progress"
)


async def milestones(db: Db, stream_id: uuid.UUID) -> list[Milestone]:
    rows = await db.fetch(
        f"SELECT {_M_COLUMNS} FROM stream_milestones m WHERE m.stream_id = $1 ORDER BY m.target",
        stream_id,
    )
    return [_milestone(r) for r in rows]


async def set_ladder(
    pool: asyncpg.Pool, stream_id: uuid.UUID, ladder: Sequence[tuple[str, int]]
) -> list[Milestone]:
    """Replace the stream's milestones not reached yet with ``ladder`` ((title, target)
    pairs); reached ones stay as they were. New ones count tips from now on."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM stream_milestones WHERE stream_id = $1 AND reached_at IS NULL", stream_id
        )
        await conn.execute(
            "INSERT INTO stream_milestones (id, stream_id, title, target) "
            "SELECT gen_random_uuid(), $1, l.title, l.target "
            "FROM unnest($2::text[], $3::bigint[]) AS l(title, target) "
            "ON CONFLICT (stream_id, target) DO NOTHING",
            stream_id,
            [t for t, _ in ladder],
            [n for _, n in ladder],
        )
        return await milestones(conn, stream_id)


async def reach(db: Db, stream_id: uuid.UUID) -> list[Milestone]:
    """Mark the stream's milestones whose target is met as reached: the ones this call marked
    (each milestone is returned by exactly one call, ever)."""
    rows = await db.fetch(
        "UPDATE stream_milestones m SET reached_at = now() "
        f"WHERE m.stream_id = $1 AND m.reached_at IS NULL AND m.target <= {_PROGRESS} "
        f"RETURNING {_M_COLUMNS}",
        stream_id,
    )
    return sorted((_milestone(r) for r in rows), key=lambda m: m.target)


@dataclass(frozen=True, slots=True)
class AvatarRow:
    thresholds: Thresholds
    avatar: Avatar
    version: int


async def avatar_of(db: Db, stream_id: uuid.UUID) -> AvatarRow:
    row = await db.fetchrow(
        "SELECT happy_at, excited_at, wow_at, state, until, version FROM stream_avatars "
        "WHERE stream_id = $1",
        stream_id,
    )
    if row is None:
        return AvatarRow(Thresholds(), IDLE, -1)
    return AvatarRow(
        Thresholds(row["happy_at"], row["excited_at"], row["wow_at"]),
        Avatar(row["state"], row["until"]),
        row["version"],
    )


async def set_thresholds(db: Db, stream_id: uuid.UUID, t: Thresholds) -> None:
    await db.execute(
        "INSERT INTO stream_avatars (stream_id, happy_at, excited_at, wow_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (stream_id) DO UPDATE SET "
        "happy_at = EXCLUDED.happy_at, excited_at = EXCLUDED.excited_at, "
        "wow_at = EXCLUDED.wow_at",
        stream_id,
        t.happy,
        t.excited,
        t.wow,
    )


async def _change(db: Db, stream_id: uuid.UUID, version: int, to: Avatar) -> bool:
    """Move the avatar to ``to`` if its row is still at ``version`` (or absent at -1)."""
    if version < 0:
        done = await db.fetchval(
            "INSERT INTO stream_avatars (stream_id, state, until, version) "
            "VALUES ($1, $2, $3, 1) ON CONFLICT (stream_id) DO NOTHING RETURNING 1",
            stream_id,
            to.state,
            to.until,
        )
    else:
        done = await db.fetchval(
            "UPDATE stream_avatars SET state = $3, until = $4, version = version + 1 "
            "WHERE stream_id = $1 AND version = $2 RETURNING 1",
            stream_id,
            version,
            to.state,
            to.until,
        )
    return done is not None


class RoomReactions:
    """The node's milestone checks and avatar reactions, fed by its committed tips."""

    def __init__(self, pool: asyncpg.Pool, money: MoneyEvents, *, interval: float = 0.2) -> None:
        self.pool = pool
        self.money = money
        self.interval = interval
        self._pending: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ends: dict[uuid.UUID, asyncio.TimerHandle] = {}

    def tipped(self, data: dict[str, Any]) -> None:
        """A tip hook (`MoneyEvents.tipped_hooks`): on the event loop, schedules work only."""
        stream_id = uuid.UUID(str(data["streamId"]))
        if stream_id not in self._pending:
            self._pending[stream_id] = self._spawn(self._milestones(stream_id))
        self._spawn(self._avatar(stream_id, int(data["amount"])))

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _milestones(self, stream_id: uuid.UUID) -> None:
        try:
            await asyncio.sleep(self.interval)
            del self._pending[stream_id]  # tips from now on schedule the next look
            for m in await reach(self.pool, stream_id):
                await self.money.publish(stream_id, {"type": "milestone.reached", **m.wire()})
                if m.reached_at is not None:
                    mark = Mark(
                        f"milestone-{m.id}",
                        "milestone",
                        m.reached_at,
                        m.reached_at,
                        {"X-TITLE": m.title, "X-TARGET": m.target},
                    )
                    await publish_mark(self.money.pubsub, stream_id, mark)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._pending.pop(stream_id, None)
            log.exception("milestones of %s failed", stream_id)

    async def _avatar(self, stream_id: uuid.UUID, amount: int) -> None:
        try:
            for _ in range(5):  # another node changed it meanwhile: read and decide again
                row = await avatar_of(self.pool, stream_id)
                now = datetime.now(UTC)
                before = row.avatar.at(now)
                after = react(row.avatar, amount, row.thresholds, now)
                if after == row.avatar or (after == before and after.state == "idle"):
                    return
                if await _change(self.pool, stream_id, row.version, after):
                    if after.state != before.state:
                        await self._announce(stream_id, after)
                    self._time_end(stream_id, after)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("avatar of %s failed", stream_id)

    async def _announce(self, stream_id: uuid.UUID, avatar: Avatar) -> None:
        await self.money.publish(
            stream_id,
            {
                "type": "avatar",
                "state": avatar.state,
                "until": avatar.until.isoformat() if avatar.until else None,
            },
        )

    def _time_end(self, stream_id: uuid.UUID, avatar: Avatar) -> None:
        old = self._ends.pop(stream_id, None)
        if old is not None:
            old.cancel()
        if avatar.until is None:
            return
        delay = max(0.0, (avatar.until - datetime.now(UTC)).total_seconds()) + 0.01

        def due() -> None:
            self._ends.pop(stream_id, None)
            self._spawn(self._end(stream_id))

        self._ends[stream_id] = asyncio.get_running_loop().call_later(delay, due)

    async def _end(self, stream_id: uuid.UUID) -> None:
        try:
            row = await avatar_of(self.pool, stream_id)
            if row.avatar.state == "idle" or row.avatar.at(datetime.now(UTC)) != IDLE:
                return  # still held (a later tip extended it; its node times the end)
            if await _change(self.pool, stream_id, row.version, IDLE):
                await self._announce(stream_id, IDLE)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("avatar end of %s failed", stream_id)

    async def close(self) -> None:
        for handle in self._ends.values():
            handle.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
