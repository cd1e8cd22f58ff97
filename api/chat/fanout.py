"""Chat messages out to rooms: one packet per message, or one per room per tick while it pays.

Every packet costs a write per member. Gathering a busy room's messages for ``interval``
seconds and sending them as one ``chat:messages`` event divides that cost by the batch size;
in a quiet room it would only add delay. So each room keeps its own rate (`RoomRate`, messages
per second, decayed over `RATE_HORIZON`), and a room's message is held back only while the room
is busy: more than one message per tick on average, or enough that a tick's messages would cost
`BUSY_WRITES` writes to this process's members of the room (a big room, or a process short of
CPU that takes its messages in bursts). Even then the first message after a tick without one
goes out at once and no message waits longer than ``interval``. ``interval`` 0 sends each
message at once (still as a one-element batch, so clients see one shape). The figures that
chose the default are in docs/benchmarks.md (`loadtests/bench_chat.py`).
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
BUSY_WRITES = 50.0  # writes per tick (messages x local members) from which a tick pays


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
    def __init__(
        self,
        emit: Emit,
        interval: float,
        *,
        horizon: float = RATE_HORIZON,
        members: Callable[[str], int] | None = None,
    ) -> None:
        """``members(stream_id)``: the room's members on this process (what a packet costs)."""
        self._emit = emit
        self._members = members
        self._interval = interval
        self._horizon = horizon
        self._rates: dict[str, RoomRate] = {}
        # room -> (stream id, messages held back, when the first of them was published)
        self._pending: dict[str, tuple[str, list[dict[str, Any]], float]] = {}
        self._last: dict[str, float] = {}  # room -> when it was last sent to
        self._due: list[tuple[float, str]] = []  # (when, room) of the rooms with pending ones
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Called after each packet with the seconds from its oldest message's publish to the
        # end of the send (the hold-back plus the emit): the fan-out latency (/metrics).
        self.on_sent: Callable[[float], None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-fanout")

    async def publish(self, room: str, stream_id: str, message: dict[str, Any]) -> None:
        now = asyncio.get_running_loop().time()
        if self._task is None:
            await self._send(room, stream_id, [message], now)
            return
        rate = self._rates.get(room)
        if rate is None:
            rate = self._rates[room] = RoomRate()
        per_tick = rate.hit(now, self._horizon) * self._interval  # messages per tick
        busy = per_tick > 1.0 or (
            self._members is not None and per_tick * self._members(stream_id) >= BUSY_WRITES
        )
        pending = self._pending.get(room)
        if pending is not None:
            pending[1].append(message)
            return
        last = self._last.get(room, -math.inf)
        if not busy or now - last >= self._interval:
            # A quiet room, or a busy one's first message after a tick without one: no reason
            # to wait. Only what follows within the tick is held back and goes out together.
            self._last[room] = now
            await self._send(room, stream_id, [message], now)
            return
        self._pending[room] = (stream_id, [message], now)
        heapq.heappush(self._due, (last + self._interval, room))
        self._wake.set()

    async def flush(self, room: str) -> None:
        """Send what is pending for ``room`` now (keeps order with an event about to follow)."""
        pending = self._pending.pop(room, None)
        if pending is not None:
            self._last[room] = asyncio.get_running_loop().time()
            await self._send(room, *pending)

    async def _send(
        self, room: str, stream_id: str, messages: list[dict[str, Any]], since: float
    ) -> None:
        try:
            await self._emit(MESSAGES, {"streamId": stream_id, "messages": messages}, room)
        except Exception:
            log.exception("sending %d chat messages to %s failed", len(messages), room)
            return
        if self.on_sent is not None:
            self.on_sent(asyncio.get_running_loop().time() - since)

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
