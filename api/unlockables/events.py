"""Announcing unlocks to a stream's room: ``unlockable.unlocked`` on the money channel.

A tip hook (`api.wallet.events.MoneyEvents.tip_hooks`) notes which stream and viewer tipped;
at most every ``interval`` seconds per stream, one pass re-reads progress from the ledger for
the stream's unlockables and announces what crossed its threshold:

* ``{"type": "unlockable.unlocked", "unlockableId", "title", "scope": "room", "streamId",
  "threshold", "progress"}`` once for a room unlockable, whichever node sees it first (a
  conditional UPDATE of ``unlocked_at``);
* ``{… "scope": "viewer", "viewerId", "viewer": <handle>}`` once per viewer (the first insert
  of their ``unlockable_unlocks`` row).

The payload itself is never broadcast: unlocked callers read it from
``GET /api/v1/unlockables/{id}``, which decides from the ledger again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import asyncpg
from aiohttp import web

from api.unlockables import store
from api.wallet.events import money_channel
from teezu.pubsub import PubSub

log = logging.getLogger(__name__)

UNLOCKED = "unlockable.unlocked"


class UnlockWatcher:
    """Checks a stream's unlockables after its tips; owns its pending passes."""

    def __init__(self, pool: asyncpg.Pool, pubsub: PubSub, *, interval: float = 0.2) -> None:
        self.pool = pool
        self.pubsub = pubsub
        self.interval = interval
        self._viewers: dict[uuid.UUID, dict[uuid.UUID, str | None]] = {}
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    def tipped(self, stream_id: uuid.UUID, viewer_id: uuid.UUID | None, handle: str | None) -> None:
        """The tip hook: remember the tipper and schedule the stream's next pass."""
        viewers = self._viewers.setdefault(stream_id, {})
        if viewer_id is not None:
            viewers[viewer_id] = handle
        if stream_id not in self._tasks:
            self._tasks[stream_id] = asyncio.get_running_loop().create_task(
                self._later(stream_id), name=f"unlockables-{stream_id}"
            )

    async def _later(self, stream_id: uuid.UUID) -> None:
        try:
            await asyncio.sleep(self.interval)
            # Tips from now on schedule the next pass (this one reads the ledger afterwards).
            del self._tasks[stream_id]
            viewers = self._viewers.pop(stream_id, {})
            await self.check(stream_id, viewers)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unlockable check failed", extra={"stream_id": str(stream_id)})

    async def check(
        self, stream_id: uuid.UUID, viewers: dict[uuid.UUID, str | None]
    ) -> list[dict[str, Any]]:
        """Announce what the stream's tips (and these viewers') have unlocked; returns the
        announcements this call made."""
        made: list[dict[str, Any]] = []
        for item in await store.watching(self.pool, stream_id):
            base = {
                "type": UNLOCKED,
                "unlockableId": str(item.id),
                "title": item.title,
                "scope": item.scope,
                "streamId": str(stream_id),
                "threshold": item.threshold,
            }
            if item.scope == "room":
                if await store.record_room_unlock(self.pool, item):
                    made.append({**base, "progress": await store.room_progress(self.pool, item)})
                continue
            for viewer_id, handle in viewers.items():
                if await store.has_unlocked(self.pool, item.id, viewer_id):
                    continue
                progress = await store.viewer_progress(self.pool, item, viewer_id)
                if progress >= item.threshold and await store.record_viewer_unlock(
                    self.pool, item.id, viewer_id
                ):
                    made.append(
                        {**base, "progress": progress, "viewerId": str(viewer_id), "viewer": handle}
                    )
        for event in made:
            await self.pubsub.publish(money_channel(stream_id), event)
        return made

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


# The node's unlock announcer (made at start-up, a tip hook on the wallet's money events).
WATCHER: web.AppKey[UnlockWatcher] = web.AppKey("unlock_watcher", UnlockWatcher)
