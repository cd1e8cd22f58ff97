"""StripSync: the creator's queued actions, picked in the order the room's votes and tips
decide, the same order in every room on every node.

The creator queues actions (``sync:queue``); members vote for one (``sync:vote``): a free
vote weighs 1 (once per member and action), a tipped vote weighs its tokens and goes through
the ledger like any tip (``tipSource: sync``, ``triggerAction: sync:<actionId>``; the vote
row keeps the tip's id, so a retried key counts once). When the creator is ready for the
next action (``sync:next``), the heaviest queued one (the oldest among equals) is picked in
one transaction under a lock per stream, which also gives it the stream's next order number;
the node that picked it announces ``sync:picked`` once, and the board (``sync:board``)
follows every change, at most every ``TEEZU_POLL_TALLY_INTERVAL`` per stream and node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from api.chat.errors import AuthRequired
from api.chat.events import ack_ok, parse
from api.chat.rooms import room_name
from api.chat.service import Chat
from api.engagement import sync_store
from api.engagement.errors import (
    AlreadyVoted,
    SyncActionGone,
    SyncActionNotFound,
    SyncQueueEmpty,
    TipRequired,
)
from api.engagement.events import (
    SYNC_BOARD,
    SYNC_PICKED,
    RoomPayload,
    SyncQueue,
    SyncRef,
    SyncVote,
)
from api.engagement.marks import publish_mark
from api.engagement.room_duels import room_owner
from api.wallet.errors import MESSAGES, StreamFrozen, error_for
from api.wallet.events import MoneyEvents
from api.wallet.model import IdempotencyKey
from api.wallet.service import Ledger
from api.wallet.streams import stream_info
from api.wallet.tips import TipRequest
from engine.room_timeline import Mark
from teezu.settings import Settings

log = logging.getLogger(__name__)


class RoomSync:
    """The node's StripSync over its chat (membership, transport) and ledger."""

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
        self.board_interval = settings.poll_tally_interval
        self._boards: dict[uuid.UUID, asyncio.Task[None]] = {}
        self.voted_hooks: list[Callable[[uuid.UUID], None]] = []

    async def close(self) -> None:
        tasks = list(self._boards.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _board(self, stream_id: uuid.UUID) -> dict[str, Any]:
        queued, picked = await sync_store.board(self.pool, stream_id)
        return {
            "streamId": str(stream_id),
            "queued": [a.wire() for a in queued],
            "picked": [a.wire() for a in picked],
        }

    def _schedule_board(self, stream_id: uuid.UUID) -> None:
        if stream_id in self._boards:
            return  # the pending one reads this change too
        self._boards[stream_id] = asyncio.get_running_loop().create_task(
            self._send_board(stream_id), name=f"sync-board-{stream_id}"
        )

    async def _send_board(self, stream_id: uuid.UUID) -> None:
        try:
            await asyncio.sleep(self.board_interval)
            del self._boards[stream_id]
            board = await self._board(stream_id)
            await self.chat.transport.emit(SYNC_BOARD, board, room=room_name(stream_id))
        except asyncio.CancelledError:
            raise
        except Exception:
            self._boards.pop(stream_id, None)
            log.exception("sync board of %s failed", stream_id)

    # --- requests --------------------------------------------------------------------------

    async def queue(self, sid: str, data: Any) -> dict[str, Any]:
        """``sync:queue`` (the creator): actions after the ones waiting."""
        p = parse(SyncQueue, data)
        await room_owner(self.chat, sid, p.stream_id, "queues its actions")
        await sync_store.enqueue(self.pool, p.stream_id, p.actions)
        self._schedule_board(p.stream_id)
        return ack_ok(**await self._board(p.stream_id))

    async def drop(self, sid: str, data: Any) -> dict[str, Any]:
        """``sync:drop`` (the creator): take a queued action off (its tips stay tips)."""
        p = parse(SyncRef, data)
        await room_owner(self.chat, sid, p.stream_id, "drops its actions")
        if not await sync_store.drop(self.pool, p.stream_id, p.action_id):
            raise SyncActionNotFound(
                "no such queued action in this room", meta={"actionId": str(p.action_id)}
            )
        self._schedule_board(p.stream_id)
        return ack_ok(**await self._board(p.stream_id))

    async def vote(self, sid: str, data: Any) -> dict[str, Any]:
        """``sync:vote``: a free vote (once per action), or a tip weighing its tokens."""
        p = parse(SyncVote, data)
        tipping = p.amount is not None or p.idempotency_key is not None
        if tipping:  # money first: a frozen stream takes none, whatever else is wrong
            info = await stream_info(self.pool, p.stream_id)
            if info.frozen:
                raise StreamFrozen(MESSAGES["STREAM_FROZEN"], meta={"streamId": str(p.stream_id)})
            if p.amount is None or not p.idempotency_key:
                raise TipRequired("a tipped vote needs amount and idempotencyKey")
        principal = await self.chat.member(sid, p.stream_id)
        user = principal.user_id
        if user is None:
            raise AuthRequired("sign in to vote")
        action = await sync_store.get(self.pool, p.action_id)
        if action is None or action.stream_id != p.stream_id:
            raise SyncActionNotFound(
                "no such action in this room", meta={"actionId": str(p.action_id)}
            )
        if action.state != "queued":
            raise SyncActionGone("this action was picked or dropped", meta={"state": action.state})
        weight, tip_id, tip = 1, None, {}
        if tipping:
            assert p.amount is not None and p.idempotency_key is not None
            outcome = await self.ledger.tip(
                IdempotencyKey(user, p.idempotency_key),
                TipRequest(p.stream_id, p.amount, source="sync", action=f"sync:{action.id}"),
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
        counted = await sync_store.add_vote(
            self.pool, action.id, user, weight=weight, tip_id=tip_id
        )
        if counted == "gone":
            raise SyncActionGone(
                "this action was picked before the vote was counted",
                meta={"actionId": str(action.id), **({"tipId": tip_id} if tip_id else {})},
            )
        if counted == "exists" and not tipping:
            raise AlreadyVoted("you voted for this action already")
        if counted == "added":
            self._schedule_board(p.stream_id)
            for hook in self.voted_hooks:
                hook(p.stream_id)
        return ack_ok(actionId=str(action.id), weight=weight, **tip)

    async def next(self, sid: str, data: Any) -> dict[str, Any]:
        """``sync:next`` (the creator): the heaviest queued action is the next one."""
        p = parse(RoomPayload, data)
        await room_owner(self.chat, sid, p.stream_id, "picks its next action")
        picked = await sync_store.pick(self.pool, p.stream_id)
        if picked is None:
            raise SyncQueueEmpty("no action is queued")
        wire = picked.wire()
        await self.chat.transport.emit(
            SYNC_PICKED, {"streamId": str(p.stream_id), "action": wire}, room=room_name(p.stream_id)
        )
        self._schedule_board(p.stream_id)
        if picked.picked_at is not None:
            mark = Mark(
                f"sync-{picked.id}",
                "sync",
                picked.picked_at,
                picked.picked_at,
                {
                    "X-LABEL": picked.label,
                    "X-ORDER": picked.pick_order or 0,
                    "X-POINTS": picked.points,
                },
            )
            await publish_mark(self.chat.pubsub, p.stream_id, mark)
        return ack_ok(action=wire)

    async def get(self, sid: str, data: Any) -> dict[str, Any]:
        """``sync:get``: the room's board now."""
        p = parse(RoomPayload, data)
        await self.chat.member(sid, p.stream_id)
        return ack_ok(**await self._board(p.stream_id))
