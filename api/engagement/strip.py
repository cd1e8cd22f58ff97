"""The mood strip of a node: accepts votes, follows its rooms' totals, broadcasts them.

A vote is counted in the voter's node only (a dict increment: no database, no broadcast). On
a clock-aligned tick (``TEEZU_MOOD_INTERVAL``, 0.2 s) every node tells the room's channel its
own totals when they changed (`api.engagement.moods`), and a moment later (``SETTLE`` s, for
the other nodes' totals to arrive) each node sends the room's summed distribution to its own
members, when it changed: one ``mood:distribution`` per room per tick at most, however many
votes arrive. The ticks are aligned to the wall clock so the nodes' ticks coincide, and a
vote reaches every screen within one tick plus the settle time.

Votes are also added up per stream, minute and mood and written every
``TEEZU_MOOD_PERSIST_INTERVAL`` seconds (``mood_votes``, for the admin hub and the studio).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api.chat.errors import AuthRequired
from api.chat.events import ack_ok, parse
from api.chat.rooms import room_name
from api.chat.service import Chat
from api.engagement import mood_store
from api.engagement.errors import VoteTooSoon
from api.engagement.events import MOOD_DISTRIBUTION, MoodVote, RoomPayload
from api.engagement.moods import (
    INDEX,
    MOODS,
    Counts,
    MoodWindow,
    Partial,
    from_wire,
    minute_of,
    room_totals,
    should_publish,
    wire,
)
from teezu.pubsub import Subscription
from teezu.settings import Settings

log = logging.getLogger(__name__)

SETTLE = 0.04  # s between the nodes telling their totals and each node sending the sum


def mood_channel(stream_id: uuid.UUID | str) -> str:
    return f"stream:{stream_id}:mood"


@dataclass(slots=True)
class _Room:
    window: MoodWindow
    partials: dict[str, Partial] = field(default_factory=dict)
    published: Counts | None = None  # the totals this node last told the others
    published_at: float = -math.inf
    asked: bool = False  # another node started following: tell it our totals
    emitted: tuple[Counts, int] | None = None  # what this node's members last got
    reader: asyncio.Task[None] | None = None


class MoodStrip:
    """The node's mood strip over its chat (room membership, limiter, pub/sub, transport)."""

    def __init__(
        self,
        *,
        chat: Chat,
        pool: asyncpg.Pool,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chat = chat
        self.pool = pool
        self.window = max(1, round(settings.mood_window))
        self.interval = settings.mood_interval
        self.vote_interval = settings.mood_vote_interval
        self.persist_interval = settings.mood_persist_interval
        self.clock = clock
        self.monotonic = monotonic
        self.node = uuid.uuid4().hex
        self.rooms: dict[uuid.UUID, _Room] = {}
        self._minutes: dict[tuple[uuid.UUID, int], list[int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.broadcasts = 0  # mood:distribution emits by this node (benchmarks read it)
        self.voted_hooks: list[Callable[[uuid.UUID], None]] = []  # an accepted vote (at once)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._ticks(), name="mood-ticks"),
            loop.create_task(self._persist_loop(), name="mood-persist"),
        ]

    async def close(self) -> None:
        tasks = [*self._tasks, *(r.reader for r in self.rooms.values() if r.reader)]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.rooms.clear()
        with contextlib.suppress(Exception):
            await self.persist()

    # --- requests --------------------------------------------------------------------------

    async def vote(self, sid: str, data: Any) -> dict[str, Any]:
        """``mood:vote``: one vote per member per ``mood_vote_interval`` seconds."""
        p = parse(MoodVote, data)
        principal = await self.chat.member(sid, p.stream_id)
        if principal.user_id is None:
            raise AuthRequired("sign in to vote")
        wait = await self.chat.limiter.hold(
            f"mood:{p.stream_id}:{principal.user_id}", self.vote_interval
        )
        if wait:
            raise VoteTooSoon(
                "one mood vote at a time; wait a moment",
                retry_after=math.ceil(wait),
                meta={"intervalSeconds": self.vote_interval},
            )
        second = int(self.clock())
        seq = self._room(p.stream_id).window.vote(p.mood, second)
        minute = self._minutes.get((p.stream_id, minute_of(second)))
        if minute is None:
            minute = self._minutes[(p.stream_id, minute_of(second))] = [0] * len(MOODS)
        minute[INDEX[p.mood]] += 1
        for hook in self.voted_hooks:
            hook(p.stream_id)
        return ack_ok(streamId=str(p.stream_id), mood=p.mood, seq=seq)

    async def get(self, sid: str, data: Any) -> dict[str, Any]:
        """``mood:get``: the room's strip now (a client that just joined)."""
        p = parse(RoomPayload, data)
        await self.chat.member(sid, p.stream_id)
        room = self.rooms.get(p.stream_id)
        totals = (
            room_totals(room.partials, self.monotonic(), stale_after=self.window)
            if room is not None
            else Partial((0,) * len(MOODS), 0, 0.0)
        )
        return ack_ok(
            streamId=str(p.stream_id),
            windowSeconds=self.window,
            **wire(totals.counts, totals.votes),
        )

    # --- following rooms -------------------------------------------------------------------

    def _room(self, stream_id: uuid.UUID) -> _Room:
        room = self.rooms.get(stream_id)
        if room is None:
            room = self.rooms[stream_id] = _Room(MoodWindow(self.window))
        return room

    async def _follow(self) -> None:
        """Follow the rooms with members here (and those with votes of ours still in their
        window); forget the others."""
        for stream_id in self.chat.members:
            self._room(stream_id)
        for stream_id, room in list(self.rooms.items()):
            if stream_id not in self.chat.members and room.window.empty:
                if room.reader is not None:
                    room.reader.cancel()
                del self.rooms[stream_id]
            elif room.reader is None:
                try:
                    sub = await self.chat.pubsub.subscribe(mood_channel(stream_id))
                except Exception:
                    log.exception("following the mood of %s failed", stream_id)
                    continue
                room.reader = asyncio.get_running_loop().create_task(
                    self._read(stream_id, room, sub), name=f"mood-{stream_id}"
                )
                await self.chat.pubsub.publish(
                    mood_channel(stream_id), {"type": "sync", "node": self.node}
                )

    async def _read(self, stream_id: uuid.UUID, room: _Room, sub: Subscription) -> None:
        try:
            while True:
                message = await sub.get()
                node = message.get("node")
                if not isinstance(node, str) or node == self.node:
                    continue
                if message.get("type") == "sync":
                    room.asked = True
                elif message.get("type") == "partial":
                    counts = from_wire(message.get("counts"))
                    votes = message.get("votes")
                    if counts is not None and type(votes) is int:
                        room.partials[node] = Partial(counts, votes, self.monotonic())
        finally:
            await sub.close()

    # --- ticks -----------------------------------------------------------------------------

    async def _ticks(self) -> None:
        while True:
            now = self.clock()
            await asyncio.sleep((math.floor(now / self.interval) + 1) * self.interval - now)
            try:
                await self._follow()
                await self.tell()
                await asyncio.sleep(SETTLE)
                await self.emit()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mood tick failed")

    async def tell(self) -> None:
        """Tell the other nodes our totals in each room where they changed (or were asked)."""
        second = int(self.clock())
        now = self.monotonic()
        for stream_id, room in list(self.rooms.items()):
            counts = room.window.totals(second)
            room.partials[self.node] = Partial(counts, room.window.votes, now)
            if not should_publish(
                counts,
                room.published,
                since_last=now - room.published_at,
                heartbeat=self.window / 2,
                asked=room.asked,
            ):
                continue
            room.published, room.published_at, room.asked = counts, now, False
            await self.chat.pubsub.publish(
                mood_channel(stream_id),
                {
                    "type": "partial",
                    "node": self.node,
                    "counts": list(counts),
                    "votes": room.window.votes,
                },
            )

    async def emit(self) -> None:
        """Send each room's distribution to its members here, when it changed."""
        now = self.monotonic()
        for stream_id, room in list(self.rooms.items()):
            if stream_id not in self.chat.members:
                continue
            totals = room_totals(room.partials, now, stale_after=self.window)
            key = (totals.counts, totals.votes)
            if key == room.emitted or (room.emitted is None and not totals.votes):
                continue
            room.emitted = key
            payload = {
                "streamId": str(stream_id),
                "windowSeconds": self.window,
                **wire(totals.counts, totals.votes),
            }
            self.broadcasts += 1
            await self.chat.transport.emit_local(
                MOOD_DISTRIBUTION, payload, to=room_name(stream_id)
            )

    # --- persistence -----------------------------------------------------------------------

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(self.persist_interval)
            try:
                await self.persist()
            except Exception:
                log.exception("writing mood votes failed")

    async def persist(self) -> None:
        """Add the votes counted since the last call to ``mood_votes``."""
        minutes, self._minutes = self._minutes, {}
        if not minutes:
            return
        try:
            await mood_store.add_minutes(self.pool, {k: tuple(v) for k, v in minutes.items()})
        except Exception:
            for key, counts in minutes.items():  # tried again next time, not lost
                mine = self._minutes.setdefault(key, [0] * len(MOODS))
                for i, n in enumerate(counts):
                    mine[i] += n
            raise
