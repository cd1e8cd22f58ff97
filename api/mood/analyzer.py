"""The mood pipeline: chat messages in (never waiting), moods out in batches, off the loop.

`MoodAnalyzer.submit` is what the chat calls for every delivered message: it appends to a
bounded queue and returns (a full queue skips its oldest message, counted), so a chat burst
never waits for analysis. A task takes up to ``batch`` messages every ``interval`` seconds,
has the embedding workers analyse them (`workers.mood`: mood, polarity, intensity), stores them
with the room's per-minute sums, and sends each room it touched its current minute
(``mood:update``) for the watch room's mood strip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from api.mood import store
from workers.embeddings import EmbeddingPool

log = logging.getLogger(__name__)

MOOD_UPDATE = (
    "mood:update"  # {streamId, minute, moods: {mood: n}, messages, polarity, intensity, dominant}
)
Emit = Callable[[str, dict[str, Any], str], Awaitable[None]]  # (event, data, stream id)


def minute_wire(stream_id: uuid.UUID | str, m: store.Minute) -> dict[str, Any]:
    return {
        "streamId": str(stream_id),
        "minute": m.minute.isoformat(),
        "moods": m.moods,
        "messages": m.messages,
        "polarity": m.polarity,
        "intensity": m.intensity,
        "dominant": m.dominant,
    }


class MoodAnalyzer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        embeddings: EmbeddingPool,
        *,
        batch: int,
        interval: float,
        queue: int,
        emit: Emit | None = None,
    ) -> None:
        self.pool = pool
        self.embeddings = embeddings
        self.batch = batch
        self.interval = interval
        self.emit = emit
        self._queue: deque[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, datetime, str]] = deque(
            maxlen=queue
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.analysed = 0
        self.skipped = 0  # dropped from a full queue
        self.failed = 0
        self.idle = asyncio.Event()  # set whenever the queue is empty and nothing is in flight
        self.idle.set()

    def submit(
        self,
        message_id: uuid.UUID,
        stream_id: uuid.UUID,
        user_id: uuid.UUID | None,
        at: datetime,
        text: str,
    ) -> None:
        """Queue a delivered chat message (returns at once)."""
        if len(self._queue) == self._queue.maxlen:
            self.skipped += 1
        self._queue.append((message_id, stream_id, user_id, at, text))
        self.idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mood-analyzer")

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                taken = [self._queue.popleft() for _ in range(min(self.batch, len(self._queue)))]
                try:
                    await self._analyse(taken)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.failed += len(taken)
                    log.exception("mood analysis of %d messages failed", len(taken))
                await asyncio.sleep(self.interval)
            self.idle.set()

    async def _analyse(
        self, taken: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, datetime, str]]
    ) -> None:
        results = await self.embeddings.moods([t[4] for t in taken])
        rows = [
            store.Analysed(mid, sid, uid, at, mood, polarity, intensity)
            for (mid, sid, uid, at, _), (mood, _conf, polarity, intensity) in zip(
                taken, results, strict=True
            )
        ]
        async with self.pool.acquire() as conn:
            await store.save(conn, rows)
        self.analysed += len(rows)
        if self.emit is None:
            return
        for stream_id in sorted({r.stream_id for r in rows}):
            now = store.minute_of(datetime.now(UTC))
            minutes = await store.strip(self.pool, stream_id, since=now - timedelta(minutes=1))
            if minutes:
                await self.emit(MOOD_UPDATE, minute_wire(stream_id, minutes[-1]), str(stream_id))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


ANALYZER: web.AppKey[MoodAnalyzer] = web.AppKey("mood_analyzer", MoodAnalyzer)
