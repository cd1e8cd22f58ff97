"""Chat messages out to rooms: one packet per message, or one per room per tick while it pays.

Every packet costs a write per member. Gathering a busy room's messages for ``interval``
seconds and sending them as one ``chat:messages`` event divides that cost by the batch size;
in a quiet room it would only add delay. So each room keeps its own rate (`RoomRate`, messages
per second, decayed over `RATE_HORIZON`), and a room's message is held back only while the room
is busy: more than one message per tick on average, so a tick's packet carries several. Even
then the first message after a tick without one goes out at once and no message waits longer
than ``interval``. ``interval`` 0 sends each message at once (still as a one-element batch, so
clients see one shape). The figures that chose the default are in docs/benchmarks.md
(`loadtests/bench_chat.py`).
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
RATE_HORIZON = 1.0  # s: a room's rate is the messages of about the last second


class RoomRate:
    """A room's recent message rate: an exponentially decayed count per second."""

    __slots__ = ("at", "rate")

    def __init__(self) -> None:
        self.rate = 0.0  # messages per second
        self.at = -math.inf  # when it was last counted

    def hit(self, now: float, horizon: float = RATE_HORIZON) -> float:
        """Count one message at ``now``; the rate including it."""
        self.rate = self.rate * math.exp((self.at - now) / horizon) + 1.0 / horizon
        self.at = now
        return self.rate


class RoomFanout:
    def __init__(self, emit: Emit, interval: float, *, horizon: float = RATE_HORIZON) -> None:
        self._emit = emit
        self._interval = interval
        self._horizon = horizon
        self._rates: dict[str, RoomRate] = {}
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
        now = asyncio.get_running_loop().time()
        rate = self._rates.get(room)
        if rate is None:
            rate = self._rates[room] = RoomRate()
        busy = rate.hit(now, self._horizon) * self._interval > 1.0
        pending = self._pending.get(room)
        if pending is not None:
            pending[1].append(message)
            return
        last = self._last.get(room, -math.inf)
        if not busy or now - last >= self._interval:
            # A quiet room, or a busy one's first message after a tick without one: no reason
            # to wait. Only what follows within the tick is held back and goes out together.
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
            if len(self._last) > 10_000:  # forget quiet rooms: memory stays flat
                self._forget(loop.time())

    def _forget(self, now: float) -> None:
        tick, gone = now - self._interval, now - 10 * self._horizon
        self._last = {r: t for r, t in self._last.items() if t > tick}
        self._rates = {r: rate for r, rate in self._rates.items() if rate.at > gone}

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for room in list(self._pending):
            await self.flush(room)
