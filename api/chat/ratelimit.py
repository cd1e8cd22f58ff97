"""Per-user send limits and slow mode, in-process or shared through Redis.

Both backends keep one semantics: a window opens at a sender's first message and admits
``limit`` messages until it closes (no burst at a shared boundary, as fixed clock-aligned
windows allow), and a "hold" is a key that exists until the sender may speak again (slow mode).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol


def admit(
    state: tuple[float, int] | None, now: float, *, limit: int, window: float
) -> tuple[tuple[float, int], float]:
    """One event against ``state`` = (window start, count): the new state and the wait (0: ok)."""
    start, n = state if state is not None and now < state[0] + window else (now, 0)
    n += 1
    return (start, n), (0.0 if n <= limit else min(window, start + window - now))


class Limiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: float) -> float:
        """Count one event; 0 if within ``limit`` per ``window`` s, else seconds to wait."""
        ...

    async def hold(self, key: str, seconds: float) -> float:
        """Take ``key`` for ``seconds``; 0 if it was free, else seconds until it frees."""
        ...

    async def close(self) -> None: ...


class LocalLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._holds: dict[str, float] = {}

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        now = self.clock()
        if len(self._windows) > 100_000:  # forget closed windows now and then: memory stays flat
            self._windows = {k: v for k, v in self._windows.items() if now < v[0] + window}
        self._windows[key], wait = admit(self._windows.get(key), now, limit=limit, window=window)
        return wait

    async def hold(self, key: str, seconds: float) -> float:
        now = self.clock()
        until = self._holds.get(key, 0.0)
        if until > now:
            return until - now
        if len(self._holds) > 100_000:
            self._holds = {k: v for k, v in self._holds.items() if v > now}
        self._holds[key] = now + seconds
        return 0.0

    async def close(self) -> None:
        self._windows.clear()
        self._holds.clear()


class RedisLimiter:
    """The same limits in Redis: every API process counts against one shared window."""

    def __init__(self, url: str, *, prefix: str = "teezu:chat:") -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(url)
        self._prefix = prefix

    async def hit(self, key: str, *, limit: int, window: float) -> float:
        k = f"{self._prefix}rl:{key}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(k)
            pipe.pexpire(k, max(1, math.ceil(window * 1000)), nx=True)  # the first hit opens it
            pipe.pttl(k)
            n, _, ttl = await pipe.execute()
        return 0.0 if int(n) <= limit else max(int(ttl), 1) / 1000.0

    async def hold(self, key: str, seconds: float) -> float:
        k = f"{self._prefix}hold:{key}"
        if await self._redis.set(k, 1, px=max(1, math.ceil(seconds * 1000)), nx=True):
            return 0.0
        left = await self._redis.pttl(k)
        return max(int(left), 1) / 1000.0

    async def close(self) -> None:
        await self._redis.aclose()


def create_limiter(redis_url: str) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else LocalLimiter()
