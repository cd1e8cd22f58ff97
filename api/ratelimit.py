"""API rate limits: N requests per window per account and per IP (fixed windows).

Counting is behind `Counter`: `RedisCounter` (one atomic Lua script: INCR, and EXPIRE on the
first hit) shares limits across every API node; `MemoryCounter` is the single-node fallback
when ``TEEZU_REDIS_URL`` is empty. Only ``/api/`` paths are limited: media (HLS, WHIP/WHEP) and
pages have their own costs and clients that poll by design.

Every limited response carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``; a refused
one is 429 ``RATE_LIMITED`` with ``Retry-After`` and the envelope's ``retryAfter`` and
``meta: {limit, window}``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from api.keys import SETTINGS
from api.routing import PRINCIPAL, RateLimit, client_ip, route_of
from teezu.errors import TeezuError, TooManyRequests

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Count:
    hits: int  # in the current window, this one included
    reset_after: float  # seconds until the window ends


class Counter(Protocol):
    async def hit(self, key: str, window: int) -> Count: ...

    async def close(self) -> None: ...


class MemoryCounter:
    """In-process fixed windows (one node only)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, hits)
        self._next_sweep = 0.0

    async def hit(self, key: str, window: int) -> Count:
        now = time.monotonic()
        if now >= self._next_sweep:  # forget finished windows now and then
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            self._next_sweep = now + 60
        end, hits = self._windows.get(key, (0.0, 0))
        if end <= now:
            end, hits = now + window, 0
        hits += 1
        self._windows[key] = (end, hits)
        return Count(hits, end - now)

    async def close(self) -> None:
        return None


# INCR and EXPIRE in one step: a crash between the two can never leave a key without expiry.
_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RedisCounter:
    """Fixed windows in Redis, shared by every node."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._script = self._redis.register_script(_LUA)

    async def hit(self, key: str, window: int) -> Count:
        hits, ttl_ms = await self._script(keys=[f"teezu:rl:{key}"], args=[window * 1000])
        return Count(int(hits), int(ttl_ms) / 1000)

    async def close(self) -> None:
        await self._redis.aclose()


def create_counter(redis_url: str) -> Counter:
    return RedisCounter(redis_url) if redis_url else MemoryCounter()


COUNTER: web.AppKey[Counter] = web.AppKey("rate_counter", Counter)
DEFAULT_LIMIT: web.AppKey[RateLimit] = web.AppKey("default_rate_limit", RateLimit)


class RateLimited(TooManyRequests):
    code = "RATE_LIMITED"


def limited(path: str) -> bool:
    return path.startswith("/api/")


async def check(
    counter: Counter, limit: RateLimit, scope: str, keys: list[str]
) -> tuple[dict[str, str], RateLimited | None]:
    """Count one request against every key; the headers to send and, if over, the error."""
    worst: Count | None = None
    for key in keys:
        count = await counter.hit(f"{scope}:{key}:{limit.window}", limit.window)
        if worst is None or count.hits > worst.hits:
            worst = count
    assert worst is not None
    remaining = max(0, limit.requests - worst.hits)
    headers = {"X-RateLimit-Limit": str(limit.requests), "X-RateLimit-Remaining": str(remaining)}
    if worst.hits <= limit.requests:
        return headers, None
    retry = max(1, math.ceil(worst.reset_after))
    error = RateLimited(
        "too many requests: try again later",
        retry_after=retry,
        meta={"limit": limit.requests, "window": f"{limit.window}s"},
    )
    return headers, error


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if not limited(request.path) or request.method == "OPTIONS":
        return await handler(request)
    route = route_of(request)
    if route is not None and route.rate_limit is not None:
        limit = route.rate_limit.resolve(request.app[SETTINGS])
    else:
        limit = request.app[DEFAULT_LIMIT]
    # Routes with their own limit count in their own bucket; the rest share one.
    scope = f"{route.method} {route.path}" if route and route.rate_limit else "api"
    principal = request[PRINCIPAL]
    keys = [f"ip:{client_ip(request)}"]
    if principal.user_id is not None:
        keys.append(f"user:{principal.user_id}")
    try:
        headers, error = await check(request.app[COUNTER], limit, scope, keys)
    except Exception:  # noqa: BLE001 - a limiter outage must not take the API down
        log.warning("rate limiter unavailable; request let through", exc_info=True)
        return await handler(request)
    if error is not None:
        error.headers.update(headers)
        raise error
    try:
        response = await handler(request)
    except (TeezuError, web.HTTPException) as exc:
        exc.headers.update(headers)
        raise
    if not response.prepared:
        response.headers.update(headers)
    return response
