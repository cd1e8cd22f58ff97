"""The default API limit (100 requests/min per IP and per account), in memory and in Redis."""

from __future__ import annotations

import pytest
import pytest_asyncio

from api.ratelimit import MemoryCounter, RedisCounter, check
from api.routing import RateLimit
from tests.accounts import Client
from tests.conftest import free_port
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", params=["memory", "redis"])
async def limited(request, pg_dsn, tmp_path_factory):
    """A server with the default limits; ``redis`` shares its counters through Redis."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    if redis_url:
        # A Redis database of its own: other tests' servers count this IP's requests in the
        # shared one within the same minute.
        redis_url = redis_url.rsplit("/", 1)[0] + "/9"
    async with extra_server(
        pg_dsn, tmp_path_factory.mktemp("rl"), free_port(), redis_url=redis_url
    ) as (base, app):
        yield request.param, base, redis_url


async def test_default_limit_is_100_per_minute(limited):
    backend, base, _ = limited
    c = Client(base)
    try:
        remaining = []
        for _ in range(100):
            r = await c.call("GET", "/api/v1/streams?limit=1")
            assert r.status == 200, r.body
            assert r.headers["X-RateLimit-Limit"] == "100"
            remaining.append(int(r.headers["X-RateLimit-Remaining"]))
        assert remaining == list(range(99, -1, -1))
        r = await c.call("GET", "/api/v1/streams")
        assert (r.status, r.code) == (429, "RATE_LIMITED"), backend
        assert r.body["meta"] == {"limit": 100, "window": "60s"}
        assert 1 <= r.body["retryAfter"] <= 60
        assert r.headers["Retry-After"] == str(r.body["retryAfter"])
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.body["requestId"] == r.headers["X-Request-Id"]
        # Every API path counts (404s too); media and pages are not limited.
        assert (await c.call("GET", "/api/v1/nope")).status == 429
        assert (await c.call("GET", "/healthz")).status == 200
        assert (
            await c.call("GET", "/hls/00000000-0000-0000-0000-000000000000/index.m3u8")
        ).status == 404
    finally:
        await c.close()


async def test_redis_limits_are_shared_between_nodes(pg_dsn, redis_url, tmp_path_factory):
    """Two API nodes on one Redis see one budget per client."""
    async with (
        extra_server(
            pg_dsn,
            tmp_path_factory.mktemp("n1"),
            free_port(),
            redis_url=redis_url,
            rate_limit_requests=10,
        ) as (a, _),
        extra_server(
            pg_dsn,
            tmp_path_factory.mktemp("n2"),
            free_port(),
            redis_url=redis_url,
            rate_limit_requests=10,
        ) as (b, _),
    ):
        c = Client(a)
        try:
            # Start from an empty window: an earlier test spent this IP's budget in this Redis.
            import redis.asyncio as redis

            r = redis.from_url(redis_url)
            await r.flushdb()
            await r.aclose()
            statuses = []
            for i in range(12):
                base = a if i % 2 else b
                async with c.session.get(f"{base}/api/v1/streams?limit=1") as res:
                    statuses.append(res.status)
            assert statuses == [200] * 10 + [429, 429]
        finally:
            await c.close()


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_account_and_ip_are_counted_apart(backend, redis_url):
    counter = MemoryCounter() if backend == "memory" else RedisCounter(redis_url)
    limit = RateLimit(3, 60)
    scope = f"unit-{backend}"
    try:
        import uuid

        ip, alice, bob = f"ip:{uuid.uuid4()}", f"user:{uuid.uuid4()}", f"user:{uuid.uuid4()}"
        for _ in range(3):
            headers, error = await check(counter, limit, scope, [ip, alice])
            assert error is None
        _, error = await check(counter, limit, scope, [ip, alice])
        assert error is not None and error.retry_after >= 1  # both over
        # Bob from another address is fine; Alice from another address is still over.
        _, error = await check(counter, limit, scope, [f"ip:{uuid.uuid4()}", bob])
        assert error is None
        _, error = await check(counter, limit, scope, [f"ip:{uuid.uuid4()}", alice])
        assert error is not None
    finally:
        await counter.close()
