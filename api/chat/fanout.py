"""Chat messages out to rooms: one packet per message, or one per room per tick.

Socket.IO sends every event as its own WebSocket frame, and python-socketio spends a task per
recipient per emit. Gathering a room's messages for ``interval`` seconds and sending them as one
``chat:messages`` event divides that cost by the batch size when a room is busy. Each room
keeps its own tick: a message to a room that was quiet for a tick goes out at once, and only the
ones that follow it within the tick wait (at most ``interval``). ``interval`` 0 sends each
message at once (still as a one-element batch, so clients see one shape). The figures that
chose the default are in the README (`loadtests/bench_chat.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from api.chat.events import MESSAGES

log = logging.getLogger(__name__)

# (event, data, room) -> sent to everyone in the room, on every node
Emit = Callable[[str, Any, str], Awaitable[None]]


class RoomFanout:
    def __init__(self, emit: Emit, interval: float) -> None:
        self._emit = emit
        self._interval = interval
        self._pending: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self._last: dict[str, float] = {}  # room -> when it was last sent to
        self._due: list[tuple[float, str]] = []  # (when, room) of the rooms with pending ones
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-fanout")

    async def publish(self, room: str, stream_id: str, message: dict[str, Any]) -> None:
        if self._task is None:
            await self._send(room, stream_id, [message])
            return
        pending = self._pending.get(room)
        if pending is not None:
            pending[1].append(message)
            return
        now = asyncio.get_running_loop().time()
        last = self._last.get(room, -math.inf)
        if now - last >= self._interval:
            # The room was quiet for a tick: no reason to wait. Only what follows within the
            # tick is held back and goes out together.
            self._last[room] = now
            await self._send(room, stream_id, [message])
            return
        self._pending[room] = (stream_id, [message])
        heapq.heappush(self._due, (last + self._interval, room))
        self._wake.set()

    async def flush(self, room: str) -> None:
        """Send what is pending for ``room`` now (keeps order with an event about to follow)."""
        pending = self._pending.pop(room, None)
        if pending is not None:
            self._last[room] = asyncio.get_running_loop().time()
            await self._send(room, *pending)

    async def _send(self, room: str, stream_id: str, messages: list[dict[str, Any]]) -> None:
        try:
            await self._emit(MESSAGES, {"streamId": stream_id, "messages": messages}, room)
        except Exception:
            log.exception("sending %d chat messages to %s failed", len(messages), room)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._due:
                self._wake.clear()
                await self._wake.wait()
                continue
            when, room = self._due[0]
            delay = when - loop.time()
            if delay > 0:
                self._wake.clear()  # a room due sooner may be added meanwhile
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            heapq.heappop(self._due)
            pending = self._pending.pop(room, None)
            if pending is None:
                continue  # flushed early
            self._last[room] = loop.time()
            await self._send(room, *pending)
            if len(self._last) > 10_000:  # forget rooms quiet for a tick: memory stays flat
                horizon = loop.time() - self._interval
                self._last = {r: t for r, t in self._last.items() if t > horizon}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for room in list(self._pending):
            await self.flush(room)
