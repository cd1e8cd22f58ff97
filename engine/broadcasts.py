"""One owner per live broadcast, and the node's registry of them.

A :class:`Broadcast` holds what a live stream runs on this node: its media source (the
publisher's session), its :class:`~engine.pipeline.StreamPipeline` and the pipeline's consumers
(the HLS output, the WebRTC :class:`~engine.fanout.PacketFanout`), and the steps that release
what others attached to it (the moderation monitor, the database rows, the viewers). It closes
all of it exactly once, whatever asks first and however many ask at once (the publisher's
DELETE, its media timeout, a failed connection, server shutdown): every caller awaits the same
close, the first reason is the one recorded, and every close step runs once, in order.

The engine knows its parts only through interfaces (:class:`Source`, :class:`CloseStep`), the
way mediamtx's path manager owns paths without knowing their protocols: what the steps do (SQL,
HTTP, pub/sub) is assembled outside ``engine/`` (``live/broadcasts.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Protocol, TypeVar

from engine.fanout import PacketFanout
from engine.pipeline import StreamPipeline

log = logging.getLogger(__name__)


class Source(Protocol):
    """Where a broadcast's media comes from (a WHIP session): closed first, so nothing new
    arrives while the pipeline flushes."""

    async def close(self) -> None: ...


CloseStep = Callable[["Broadcast", str], Awaitable[object]]  # (the broadcast, the reason)


class Broadcast:
    """One live broadcast: its source, pipeline, outputs and close steps (see the module doc).

    ``steps`` run after the pipeline flushed (the last segment and ``ENDLIST`` are written),
    in the order given; one that raises is logged and the next still runs.
    """

    def __init__(
        self,
        stream_id: str,
        pipeline: StreamPipeline,
        fanout: PacketFanout,
        *,
        steps: list[tuple[str, CloseStep]] | None = None,
    ) -> None:
        self.stream_id = stream_id
        self.pipeline = pipeline
        self.fanout = fanout
        self.source: Source | None = None
        self.steps: list[tuple[str, CloseStep]] = list(steps or [])
        self.stop_reason: str | None = None  # the first reason given to close
        self._closing: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._closing is not None

    def close_soon(self, reason: str) -> asyncio.Task[None]:
        """Begin closing (idempotent: later calls get the same task) and return the task."""
        if self._closing is None:
            self.stop_reason = reason
            self._closing = asyncio.get_running_loop().create_task(
                self._close(reason), name=f"broadcast-close-{self.stream_id[:8]}"
            )
        return self._closing

    async def close(self, reason: str) -> None:
        """Close and wait until everything is released. A cancelled caller does not cancel
        the close: it completes for the others."""
        await asyncio.shield(self.close_soon(reason))

    async def _close(self, reason: str) -> None:
        log.info("broadcast closing", extra={"stream_id": self.stream_id, "reason": reason})
        try:
            if self.source is not None:
                try:
                    await self.source.close()
                except Exception:
                    log.exception("source close failed", extra={"stream_id": self.stream_id})
            await self.pipeline.stop()
        finally:
            for name, step in self.steps:
                try:
                    await step(self, reason)
                except Exception:
                    log.exception(
                        "broadcast close step failed",
                        extra={"stream_id": self.stream_id, "step": name},
                    )


B = TypeVar("B", bound=Broadcast)


class Broadcasts(Mapping[str, B]):
    """The node's live broadcasts by stream id: at most one per stream. A closing broadcast
    stays listed until its steps take it out (``discard``), so a new one cannot start on top
    of a broadcast still flushing."""

    def __init__(self) -> None:
        self._by_stream: dict[str, B] = {}

    def __getitem__(self, stream_id: str) -> B:
        return self._by_stream[stream_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_stream)

    def __len__(self) -> int:
        return len(self._by_stream)

    def get(self, stream_id: str, default: B | None = None) -> B | None:  # type: ignore[override]  # Mapping.get's overloads, one dict lookup (the LL-HLS edge asks per request)
        return self._by_stream.get(stream_id, default)

    def add(self, broadcast: B) -> None:
        if broadcast.stream_id in self._by_stream:
            raise KeyError(f"stream {broadcast.stream_id} already has a broadcast")
        self._by_stream[broadcast.stream_id] = broadcast

    def discard(self, broadcast: Broadcast) -> None:
        """Take ``broadcast`` out (not a later one of the same stream)."""
        if self._by_stream.get(broadcast.stream_id) is broadcast:
            del self._by_stream[broadcast.stream_id]

    async def close_all(self, reason: str) -> None:
        """Close every broadcast (server shutdown) and wait for all of them."""
        await asyncio.gather(
            *(b.close(reason) for b in list(self._by_stream.values())), return_exceptions=True
        )
