"""Polls and challenges in the room: the Socket.IO requests, tallies, and the close.

A poll's state lives in PostgreSQL (`api.engagement.poll_store`); every node may take votes
and every node sweeps for polls past their deadline (``TEEZU_POLL_SWEEP_INTERVAL``, and a
timer at the deadline of each poll opened here). Closing is one conditional UPDATE, so one
node closes a poll and only that node announces it (``poll:closed``, sent once through the
Socket.IO manager, which reaches the room's members on every node).

A weighted poll's vote is a tip: it goes through the ledger like any tip (its idempotency key,
its split, the kill switch), recorded with ``tipSource = poll`` and ``triggerAction =
poll:<id>:<option>``; the vote row keeps the tip's id (unique), so a retried key counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.chat.errors import AuthRequired
from api.chat.events import ack_ok, parse
from api.chat.rooms import room_name
from api.chat.service import Chat
from api.engagement import poll_store
from api.engagement.errors import (
    AlreadyVoted,
    NotRoomOwner,
    PollClosed,
    PollNotFound,
    TipRequired,
    UnknownOption,
)
from api.engagement.events import (
    POLL_CLOSED,
    POLL_OPENED,
    POLL_TALLY,
    PollOpen,
    PollRef,
    PollVote,
    RoomPayload,
)
from api.engagement.marks import poll_mark, publish_mark
from api.engagement.polls import Poll
from api.wallet.errors import MESSAGES, StreamFrozen, error_for
from api.wallet.events import MoneyEvents
from api.wallet.model import IdempotencyKey
from api.wallet.service import Ledger
from api.wallet.streams import stream_info
from api.wallet.tips import TipRequest
from teezu.settings import Settings

log = logging.getLogger(__name__)


class RoomPolls:
    """The node's polls and challenges over its chat (membership, transport) and ledger."""

    def __init__(
        self,
        *,
        chat: Chat,
        pool: asyncpg.Pool,
        ledger: Ledger,
        money: MoneyEvents,
        settings: Settings,
    ) -> None:
        self.chat = chat
        self.pool = pool
        self.ledger = ledger
        self.money = money
        self.tally_interval = settings.poll_tally_interval
        self.sweep_interval = settings.poll_sweep_interval
        self._tallies: dict[uuid.UUID, asyncio.Task[None]] = {}  # a pending tally per poll
        self._timers: dict[uuid.UUID, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[int]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self.announced: list[uuid.UUID] = []  # polls this node closed (tests read it)
        self.voted_hooks: list[Callable[[uuid.UUID], None]] = []  # a counted vote (at once)

    def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="poll-sweep")

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        tasks: list[asyncio.Task[Any]] = [*self._tallies.values(), *self._closing]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- requests --------------------------------------------------------------------------

    async def _owner(self, sid: str, stream_id: uuid.UUID) -> Principal:
        principal = await self.chat.member(sid, stream_id)
        room = self.chat.rooms.get(stream_id)
        if not (
            (
                room is not None
                and room.creator_id is not None
                and room.creator_id == principal.user_id
            )
            or principal.can(Permission.SYSTEM_CONFIG_LIMITED)
        ):
            raise NotRoomOwner("only the stream's creator (or an admin) runs its polls")
        return principal

    async def open(self, sid: str, data: Any) -> dict[str, Any]:
        """``poll:open`` (the creator): the room hears ``poll:opened``."""
        p = parse(PollOpen, data)
        principal = await self._owner(sid, p.stream_id)
        poll = await poll_store.open_poll(
            self.pool,
            p.stream_id,
            opened_by=principal.user_id,
            kind=p.kind,
            question=p.question,
            options=p.options,
            weighted=p.weighted,
            seconds=p.seconds,
        )
        self._time(poll)
        wire = poll.wire()
        await self.chat.transport.emit(
            POLL_OPENED, {"streamId": str(p.stream_id), "poll": wire}, room=room_name(p.stream_id)
        )
        await publish_mark(self.chat.pubsub, p.stream_id, poll_mark(poll))
        return ack_ok(poll=wire)

    async def vote(self, sid: str, data: Any) -> dict[str, Any]:
        """``poll:vote``: a free vote (once per poll), or a tip that weighs its tokens."""
        p = parse(PollVote, data)
        tipping = p.amount is not None or p.idempotency_key is not None
        if tipping:  # money first: a frozen stream takes none, whatever else is wrong
            info = await stream_info(self.pool, p.stream_id)
            if info.frozen:
                raise StreamFrozen(MESSAGES["STREAM_FROZEN"], meta={"streamId": str(p.stream_id)})
        principal = await self.chat.member(sid, p.stream_id)
        user = principal.user_id
        if user is None:
            raise AuthRequired("sign in to vote")
        poll = await poll_store.get(self.pool, p.poll_id)
        if poll is None or poll.stream_id != p.stream_id:
            raise PollNotFound("no such poll in this room", meta={"pollId": str(p.poll_id)})
        if poll.state != "open" or poll.deadline <= datetime.now(UTC):
            raise PollClosed("this poll is closed", meta={"pollId": str(poll.id)})
        if p.option >= len(poll.options):
            raise UnknownOption(
                "no such option", meta={"option": p.option, "options": len(poll.options)}
            )
        if tipping != poll.weighted or (tipping and (p.amount is None or not p.idempotency_key)):
            raise TipRequired(
                "a weighted poll's vote is a tip (amount and idempotencyKey); a free poll's "
                "vote takes neither",
                meta={"weighted": poll.weighted},
            )
        tip: dict[str, Any] = {}
        weight, tip_id = 1, None
        if poll.weighted:
            assert p.amount is not None and p.idempotency_key is not None
            outcome = await self.ledger.tip(
                IdempotencyKey(user, p.idempotency_key),
                TipRequest(
                    p.stream_id,
                    p.amount,
                    source="poll",
                    action=f"poll:{poll.id}:{p.option}",
                ),
            )
            if not outcome.ok:
                assert outcome.error is not None
                raise error_for(outcome.error)(MESSAGES[outcome.error], meta=outcome.data)
            if not outcome.replayed:
                await self.money.tipped(outcome.data, tipper=principal.handle, tipper_id=user)
            weight, tip_id = p.amount, int(outcome.data["tipId"])
            tip = {
                "tipId": tip_id,
                "balance": outcome.data["balance"],
                "replayed": outcome.replayed,
            }
        counted = await poll_store.add_vote(
            self.pool, poll.id, user, p.option, weight=weight, tip_id=tip_id
        )
        if counted == "closed":
            raise PollClosed(
                "this poll closed before the vote was counted",
                meta={"pollId": str(poll.id), **({"tipId": tip_id} if tip_id else {})},
            )
        if counted == "exists" and not poll.weighted:
            raise AlreadyVoted("you voted in this poll already", meta={"pollId": str(poll.id)})
        if counted == "added":
            self._schedule_tally(poll)
            for hook in self.voted_hooks:
                hook(poll.stream_id)
        return ack_ok(pollId=str(poll.id), option=p.option, weight=weight, **tip)

    async def close_early(self, sid: str, data: Any) -> dict[str, Any]:
        """``poll:close`` (the creator): close it now; the result is announced as at the
        deadline."""
        p = parse(PollRef, data)
        await self._owner(sid, p.stream_id)
        poll = await poll_store.get(self.pool, p.poll_id)
        if poll is None or poll.stream_id != p.stream_id:
            raise PollNotFound("no such poll in this room", meta={"pollId": str(p.poll_id)})
        closed = await poll_store.close(self.pool, poll_id=poll.id)
        if not closed:
            raise PollClosed("this poll is closed", meta={"pollId": str(poll.id)})
        await self.announce(closed)
        return ack_ok(poll=closed[0].wire())

    async def get(self, sid: str, data: Any) -> dict[str, Any]:
        """``poll:get``: the room's open poll, else its last result, else null."""
        p = parse(RoomPayload, data)
        await self.chat.member(sid, p.stream_id)
        poll = await poll_store.current(self.pool, p.stream_id)
        return ack_ok(streamId=str(p.stream_id), poll=poll.wire() if poll else None)

    # --- tallies ---------------------------------------------------------------------------

    def _schedule_tally(self, poll: Poll) -> None:
        if poll.id in self._tallies:
            return  # the pending one reads this vote too
        self._tallies[poll.id] = asyncio.get_running_loop().create_task(
            self._tally(poll), name=f"poll-tally-{poll.id}"
        )

    async def _tally(self, poll: Poll) -> None:
        try:
            await asyncio.sleep(self.tally_interval)
            del self._tallies[poll.id]  # votes from now on schedule the next one
            fresh = await poll_store.get(self.pool, poll.id)
            if fresh is None or fresh.state != "open":
                return  # poll:closed carries the result
            wire = fresh.wire()
            await self.chat.transport.emit(
                POLL_TALLY,
                {
                    "streamId": str(poll.stream_id),
                    "pollId": str(poll.id),
                    "tally": wire["tally"],
                    "voters": wire["voters"],
                },
                room=room_name(poll.stream_id),
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("poll tally failed", extra={"poll_id": str(poll.id)})
            self._tallies.pop(poll.id, None)

    # --- closing ---------------------------------------------------------------------------

    def _time(self, poll: Poll) -> None:
        """Sweep at this poll's deadline (the periodic sweep covers polls opened elsewhere)."""
        loop = asyncio.get_running_loop()
        delay = max(0.0, (poll.deadline - datetime.now(UTC)).total_seconds()) + 0.01

        def due() -> None:
            self._timers.pop(poll.id, None)
            task = loop.create_task(self.sweep(), name=f"poll-due-{poll.id}")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

        self._timers[poll.id] = loop.call_later(delay, due)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("closing polls failed")

    async def sweep(self) -> int:
        """Close the polls past their deadline that no other node is closing; announce each."""
        closed = await poll_store.close(self.pool)
        await self.announce(closed)
        return len(closed)

    async def announce(self, closed: list[Poll]) -> None:
        """Tell each poll's room it closed, with the result (once per poll: ``closed`` is what
        this node's :func:`poll_store.close` returned)."""
        for poll in closed:
            self.announced.append(poll.id)
            handle = self._timers.pop(poll.id, None)
            if handle is not None:
                handle.cancel()
            try:
                await self.chat.transport.emit(
                    POLL_CLOSED,
                    {"streamId": str(poll.stream_id), "poll": poll.wire()},
                    room=room_name(poll.stream_id),
                )
            except Exception:
                log.exception("announcing poll %s failed", poll.id)
            await publish_mark(self.chat.pubsub, poll.stream_id, poll_mark(poll))
