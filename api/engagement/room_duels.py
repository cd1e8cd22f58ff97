"""Creator duels between two rooms: invitations, the start, the scoreboard and the end.

A duel's state lives in PostgreSQL (`api.engagement.duel_store`). The scores are the ledger's
tips to each stream within the duel's window, so each tip counts once however many nodes see
it; a committed tip (`MoneyEvents.tipped_hooks`) only schedules a fresh scoreboard for the
duel of its stream (``duel:score``, at most every ``TEEZU_DUEL_SCORE_INTERVAL`` per stream).
Every node sweeps for duels past their deadline (or with a side no longer live) and for
invitations past their answer time, and the node that started a duel also sets a timer at its
deadline; ending is one conditional UPDATE, so one node ends a duel and only that node
announces it (``duel:ended``, to both rooms through the Socket.IO manager).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.chat.events import ack_ok, parse
from api.chat.rooms import room_name
from api.chat.service import Chat
from api.engagement import duel_store
from api.engagement.duels import Duel
from api.engagement.errors import (
    DuelNotFound,
    DuelNotLive,
    DuelNotPending,
    DuelOpponentUnavailable,
    DuelWithSelf,
    NotRoomOwner,
)
from api.engagement.events import (
    DUEL_DECLINED,
    DUEL_ENDED,
    DUEL_INVITED,
    DUEL_SCORE,
    DUEL_STARTED,
    DuelInvite,
    DuelRef,
    RoomPayload,
)
from api.engagement.marks import duel_mark, publish_mark
from api.wallet.errors import StreamNotFound
from api.wallet.streams import live_stream, stream_info
from teezu.settings import Settings

log = logging.getLogger(__name__)


async def room_owner(chat: Chat, sid: str, stream_id: uuid.UUID, what: str) -> Principal:
    """The member ``sid`` of the room, if it is the stream's creator or an admin."""
    principal = await chat.member(sid, stream_id)
    room = chat.rooms.get(stream_id)
    if (
        room is not None and room.creator_id is not None and room.creator_id == principal.user_id
    ) or principal.can(Permission.SYSTEM_CONFIG_LIMITED):
        return principal
    raise NotRoomOwner(f"only the stream's creator (or an admin) {what}")


class RoomDuels:
    """The node's duels over its chat (membership, transport, pub/sub)."""

    def __init__(self, *, chat: Chat, pool: asyncpg.Pool, settings: Settings) -> None:
        self.chat = chat
        self.pool = pool
        self.score_interval = settings.duel_score_interval
        self.respond_seconds = settings.duel_respond_seconds
        self.sweep_interval = settings.poll_sweep_interval
        self._scores: dict[uuid.UUID, asyncio.Task[None]] = {}  # a pending scoreboard per stream
        self._timers: dict[uuid.UUID, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self.announced: list[uuid.UUID] = []  # duels this node ended (tests read it)

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="duel-sweep")

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        tasks: list[asyncio.Task[Any]] = [*self._scores.values(), *self._tasks]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _emit(self, duel: Duel, event: str, data: dict[str, Any]) -> None:
        for stream in duel.streams:
            await self.chat.transport.emit(event, data, room=room_name(stream))

    async def _mark(self, duel: Duel) -> None:
        mark = duel_mark(duel)
        for stream in duel.streams:
            await publish_mark(self.chat.pubsub, stream, mark)

    # --- requests --------------------------------------------------------------------------

    async def invite(self, sid: str, data: Any) -> dict[str, Any]:
        """``duel:invite``: the inviting creator's stream must be live; so must the other."""
        p = parse(DuelInvite, data)
        principal = await room_owner(self.chat, sid, p.stream_id, "invites to a duel")
        if p.opponent_stream_id == p.stream_id:
            raise DuelWithSelf("a stream cannot duel itself")
        mine = await live_stream(self.pool, p.stream_id)
        await self._available(p.opponent_stream_id, mine.creator_id)
        duel = await duel_store.invite(
            self.pool,
            p.stream_id,
            p.opponent_stream_id,
            invited_by=principal.user_id,
            rule=p.rule,
            seconds=p.seconds,
            respond_seconds=self.respond_seconds,
        )
        await self._emit(duel, DUEL_INVITED, {"duel": duel.wire()})
        return ack_ok(duel=duel.wire())

    async def _available(self, stream_id: uuid.UUID, creator_id: uuid.UUID | None) -> None:
        try:
            info = await stream_info(self.pool, stream_id)
        except StreamNotFound:
            raise DuelNotFound(
                "no such stream to duel", meta={"streamId": str(stream_id)}
            ) from None
        if info.creator_id == creator_id:
            raise DuelWithSelf("a creator cannot duel their own stream")
        if info.state != "live" or info.frozen:
            raise DuelOpponentUnavailable(
                "the other creator is not live"
                if info.state != "live"
                else "the other stream is frozen",
                meta={"streamId": str(stream_id), "state": info.state, "frozen": info.frozen},
            )

    async def _duel_of(self, stream_id: uuid.UUID, duel_id: uuid.UUID) -> Duel:
        duel = await duel_store.get(self.pool, duel_id)
        if duel is None or duel.side_of(stream_id) is None:
            raise DuelNotFound("no such duel in this room", meta={"duelId": str(duel_id)})
        return duel

    async def accept(self, sid: str, data: Any) -> dict[str, Any]:
        """``duel:accept`` (the invited creator): the duel starts now in both rooms."""
        p = parse(DuelRef, data)
        await room_owner(self.chat, sid, p.stream_id, "accepts a duel")
        duel = await self._duel_of(p.stream_id, p.duel_id)
        if duel.side_of(p.stream_id) != "opponent":
            raise DuelNotFound("this invitation is not this room's to answer")
        if duel.state != "invited":
            raise DuelNotPending("this invitation was answered", meta={"state": duel.state})
        mine = await live_stream(self.pool, p.stream_id)
        await self._available(duel.challenger_stream, mine.creator_id)
        started = await duel_store.accept(self.pool, duel)
        if started is None:
            raise DuelNotPending("this invitation expired or was answered")
        self._time(started)
        await self._emit(started, DUEL_STARTED, {"duel": started.wire()})
        await self._mark(started)
        return ack_ok(duel=started.wire())

    async def decline(self, sid: str, data: Any) -> dict[str, Any]:
        """``duel:decline``: the invited creator declines (or the inviting one withdraws)."""
        p = parse(DuelRef, data)
        await room_owner(self.chat, sid, p.stream_id, "answers a duel")
        duel = await self._duel_of(p.stream_id, p.duel_id)
        declined = await duel_store.decline(self.pool, duel.id)
        if declined is None:
            raise DuelNotPending("this invitation was answered", meta={"state": duel.state})
        await self._emit(declined, DUEL_DECLINED, {"duel": declined.wire()})
        return ack_ok(duel=declined.wire())

    async def end_early(self, sid: str, data: Any) -> dict[str, Any]:
        """``duel:end`` (either creator): ending early forfeits the duel."""
        p = parse(DuelRef, data)
        await room_owner(self.chat, sid, p.stream_id, "ends a duel")
        duel = await self._duel_of(p.stream_id, p.duel_id)
        ended = await duel_store.end(self.pool, duel_id=duel.id, by=duel.side_of(p.stream_id))
        if not ended:
            raise DuelNotLive("this duel is not running", meta={"state": duel.state})
        await self._announce(ended)
        return ack_ok(duel=ended[0].wire())

    async def get(self, sid: str, data: Any) -> dict[str, Any]:
        """``duel:get``: the room's live duel, else its open invitation, else its last one."""
        p = parse(RoomPayload, data)
        await self.chat.member(sid, p.stream_id)
        duel = await duel_store.current(self.pool, p.stream_id)
        return ack_ok(streamId=str(p.stream_id), duel=duel.wire() if duel else None)

    # --- the scoreboard --------------------------------------------------------------------

    def tipped(self, data: dict[str, Any]) -> None:
        """A tip hook (`MoneyEvents.tipped_hooks`): on the event loop, schedules work only."""
        stream_id = uuid.UUID(str(data["streamId"]))
        if stream_id not in self._scores:
            self._scores[stream_id] = asyncio.get_running_loop().create_task(
                self._score(stream_id), name=f"duel-score-{stream_id}"
            )

    async def _score(self, stream_id: uuid.UUID) -> None:
        try:
            await asyncio.sleep(self.score_interval)
            del self._scores[stream_id]  # tips from now on schedule the next one
            duel = await duel_store.live_of(self.pool, stream_id)
            if duel is None:
                return
            scores = duel.wire()["scores"]
            await self._emit(duel, DUEL_SCORE, {"duelId": str(duel.id), "scores": scores})
        except asyncio.CancelledError:
            raise
        except Exception:
            self._scores.pop(stream_id, None)
            log.exception("duel score of %s failed", stream_id)

    # --- ending ----------------------------------------------------------------------------

    def _time(self, duel: Duel) -> None:
        assert duel.deadline is not None
        delay = max(0.0, (duel.deadline - datetime.now(UTC)).total_seconds()) + 0.01

        def due() -> None:
            self._timers.pop(duel.id, None)
            self._spawn(self.sweep())

        self._timers[duel.id] = asyncio.get_running_loop().call_later(delay, due)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ending duels failed")

    async def sweep(self) -> int:
        """End the duels that are due and expire stale invitations; announce each once."""
        for duel in await duel_store.expire(self.pool):
            await self._emit(duel, DUEL_DECLINED, {"duel": duel.wire()})
        ended = await duel_store.end(self.pool)
        await self._announce(ended)
        return len(ended)

    async def _announce(self, ended: list[Duel]) -> None:
        for duel in ended:
            self.announced.append(duel.id)
            handle = self._timers.pop(duel.id, None)
            if handle is not None:
                handle.cancel()
            try:
                await self._emit(duel, DUEL_ENDED, {"duel": duel.wire()})
                await self._mark(duel)
            except Exception:
                log.exception("announcing duel %s failed", duel.id)
