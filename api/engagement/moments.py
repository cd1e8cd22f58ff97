"""Trending moments: the node's heat per room (`api.engagement.heat`), fed by what the node
accepts (chat messages delivered, mood and poll votes, committed tips), and the moments it
marks: written once per stream and cooldown window across nodes (``stream_moments``),
announced to the room (``moment:marked``) and put on the timeline (a ``com.teezu.moment``
DATERANGE). Each node judges the activity it accepts: behind a balancer every node sees its
share of a burst, and the rule is relative to the room's usual level on that node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from api.chat.events import ChatMessage
from api.chat.rooms import room_name
from api.chat.service import Chat
from api.engagement.events import MOMENT_MARKED
from api.engagement.heat import Heat, HeatRule
from api.engagement.marks import publish_mark
from engine.room_timeline import Mark
from teezu.db import Db

log = logging.getLogger(__name__)


async def record(
    db: Db, stream_id: uuid.UUID, heat: float, cooldown: float
) -> tuple[uuid.UUID, datetime] | None:
    """Write a moment unless one of this stream's cooldown window exists: (id, at) or None."""
    row = await db.fetchrow(
        "INSERT INTO stream_moments (id, stream_id, bucket, heat) "
        "VALUES ($1, $2, floor(extract(epoch FROM now()) / $3)::bigint, $4) "
        "ON CONFLICT (stream_id, bucket) DO NOTHING RETURNING id, at",
        uuid.uuid4(),
        stream_id,
        cooldown,
        heat,
    )
    return (row["id"], row["at"]) if row else None


async def moments_of(db: Db, stream_id: uuid.UUID, limit: int = 200) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, at, heat FROM stream_moments WHERE stream_id = $1 ORDER BY at DESC LIMIT $2",
        stream_id,
        limit,
    )
    return [{"id": r["id"], "at": r["at"], "heat": round(r["heat"], 2)} for r in reversed(rows)]


class RoomMoments:
    """The node's heat per room and the moments it marks."""

    def __init__(
        self,
        *,
        chat: Chat,
        pool: asyncpg.Pool,
        rule: HeatRule | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chat = chat
        self.pool = pool
        self.rule = rule or HeatRule()
        self.clock = clock
        self._heat: dict[uuid.UUID, Heat] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _add(self, stream_id: uuid.UUID, weight: float) -> None:
        heat = self._heat.get(stream_id)
        if heat is None:
            if len(self._heat) > 10_000:  # rooms come and go: forget the coldest
                coldest = min(self._heat, key=lambda s: self._heat[s].level(self.clock()))
                del self._heat[coldest]
            heat = self._heat[stream_id] = Heat(self.rule)
        level = heat.add(self.clock(), weight)
        if level is not None:
            task = asyncio.get_running_loop().create_task(self._mark(stream_id, level))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # hooks: each returns at once
    def tipped(self, data: dict[str, Any]) -> None:
        self._add(uuid.UUID(str(data["streamId"])), self.rule.tip_weight(int(data["amount"])))

    def delivered(self, message: ChatMessage) -> None:
        self._add(message.stream_id, 1.0)

    def voted(self, stream_id: uuid.UUID) -> None:
        self._add(stream_id, 1.0)

    async def _mark(self, stream_id: uuid.UUID, level: float) -> None:
        try:
            made = await record(self.pool, stream_id, level, self.rule.cooldown)
            if made is None:
                return  # another node marked this window's moment
            moment_id, at = made
            wire = {
                "streamId": str(stream_id),
                "id": str(moment_id),
                "at": at.isoformat(),
                "heat": round(level, 2),
            }
            await self.chat.transport.emit(MOMENT_MARKED, wire, room=room_name(stream_id))
            mark = Mark(f"moment-{moment_id}", "moment", at, at, {"X-HEAT": round(level, 2)})
            await publish_mark(self.chat.pubsub, stream_id, mark)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("marking a moment of %s failed", stream_id)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
