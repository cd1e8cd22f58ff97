"""What a stream's room sees when money moves, published on the stream's money channel.

Messages on ``stream:{id}:money`` (`teezu.pubsub`: in-process, or Redis across nodes), for
the realtime layer to relay into the stream's room:

* ``{"type": "tip", "tipId", "amount", "from", "message", "menuItem", "goalId"}``, once per
  committed tip (``menuItem`` is ``{"id", "label"}`` for a tip-menu action);
* ``{"type": "goal.progress", "goalId", "progress", "target"}``, at most every ``interval``
  seconds per goal however fast tips arrive (progress is re-read from the ledger);
* ``{"type": "goal.completed", "goalId", "progress", "target", "title"}``, exactly once;
* ``{"type": "unlockable.unlocked", ...}`` from `api.unlockables.events` (a tip hook).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp import web

from api.wallet import goals
from teezu.pubsub import PubSub

log = logging.getLogger(__name__)


TipHook = Callable[[uuid.UUID, "uuid.UUID | None", "str | None"], None]


def money_channel(stream_id: uuid.UUID | str) -> str:
    return f"stream:{stream_id}:money"


class MoneyEvents:
    """Publishes tips and goal progress for a node; owns its pending progress tasks."""

    def __init__(self, pool: asyncpg.Pool, pubsub: PubSub, *, interval: float = 0.2) -> None:
        self.pool = pool
        self.pubsub = pubsub
        self.interval = interval
        self._pending: dict[uuid.UUID, asyncio.Task[None]] = {}
        # Called with (stream id, tipper's user id, tipper's handle) after each committed tip,
        # on the event loop; they must only schedule work (unlockables watch tips this way).
        self.tip_hooks: list[TipHook] = []
        # Called with the tip's stored outcome data (streamId, amount, menuItem, goalId, ...)
        # after each committed tip, on the event loop; they must only schedule work too
        # (api.engagement.reactions: milestones and the reactive avatar).
        self.tipped_hooks: list[Callable[[dict[str, Any]], None]] = []

    async def tipped(
        self, data: dict[str, Any], *, tipper: str | None, tipper_id: uuid.UUID | None = None
    ) -> None:
        """Announce a committed tip (``data``: the tip's stored outcome), schedule its goal's
        progress and tell the tip hooks."""
        stream_id = data["streamId"]
        goal_id = data.get("goalId")
        await self.pubsub.publish(
            money_channel(stream_id),
            {
                "type": "tip",
                "tipId": data["tipId"],
                "amount": data["amount"],
                "from": tipper,
                "message": data.get("message"),
                "menuItem": data.get("menuItem"),
                "goalId": goal_id,
            },
        )
        if goal_id:
            self._schedule(uuid.UUID(goal_id), stream_id)
        for hook in self.tip_hooks:
            hook(uuid.UUID(stream_id), tipper_id, tipper)
        for tipped_hook in self.tipped_hooks:
            tipped_hook(data)

    async def publish(self, stream_id: uuid.UUID | str, event: dict[str, Any]) -> None:
        """Send one money event (``type`` and its fields) to the stream's room."""
        await self.pubsub.publish(money_channel(stream_id), event)

    async def pledged(self, stream_id: str, goal_id: uuid.UUID, amount: int) -> None:
        """Announce a pledge and schedule its goal's progress."""
        await self.publish(stream_id, {"type": "pledge", "goalId": str(goal_id), "amount": amount})
        self._schedule(goal_id, stream_id)

    def _schedule(self, goal_id: uuid.UUID, stream_id: str) -> None:
        if goal_id in self._pending:
            return  # the pending pass will read this tip too
        task = asyncio.get_running_loop().create_task(
            self._progress(goal_id, stream_id), name=f"goal-progress-{goal_id}"
        )
        self._pending[goal_id] = task

    async def _progress(self, goal_id: uuid.UUID, stream_id: str) -> None:
        try:
            await asyncio.sleep(self.interval)
            del self._pending[goal_id]  # tips from now on schedule the next pass
            goal = await goals.get(self.pool, goal_id)
            if goal is None:
                return
            channel = money_channel(stream_id)
            await self.pubsub.publish(
                channel,
                {
                    "type": "goal.progress",
                    "goalId": str(goal_id),
                    "progress": goal.progress,
                    "target": goal.target,
                },
            )
            # A pledge goal completes in the pledge's own call, which captures its pledges.
            if goal.state == "open" and goal.mode == "tips" and goal.progress >= goal.target:
                done = await goals.complete_if_reached(self.pool, goal_id)
                if done is not None:
                    await self.pubsub.publish(
                        channel,
                        {
                            "type": "goal.completed",
                            "goalId": str(goal_id),
                            "progress": done.progress,
                            "target": done.target,
                            "title": done.title,
                        },
                    )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("goal progress failed", extra={"goal_id": str(goal_id)})
            self._pending.pop(goal_id, None)

    async def close(self) -> None:
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


# The room's money channel (made at start-up by `api.wallet.lifecycle`).
MONEY_EVENTS: web.AppKey[MoneyEvents] = web.AppKey("money_events", MoneyEvents)
