"""The Redis backends of limits and presence against a real redis-server."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.chat.presence import RedisPresence, Viewer
from api.chat.ratelimit import RedisLimiter

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_redis_limits_are_shared_between_instances(redis_url):
    prefix = f"test:{uuid.uuid4().hex}:"
    a, b = RedisLimiter(redis_url, prefix=prefix), RedisLimiter(redis_url, prefix=prefix)
    try:
        assert await a.hit("u", limit=3, window=60) == 0
        assert await b.hit("u", limit=3, window=60) == 0
        assert await a.hit("u", limit=3, window=60) == 0
        wait = await b.hit("u", limit=3, window=60)
        assert 0 < wait <= 60
        assert await a.hit("other", limit=3, window=60) == 0
        assert await a.hold("slow", 30) == 0
        assert 0 < await b.hold("slow", 30) <= 30
        assert await b.hold("short", 0.05) == 0
        await asyncio.sleep(0.1)  # the hold's key expires in Redis
        assert await a.hold("short", 0.05) == 0
    finally:
        await a.close()
        await b.close()


async def test_presence_of_a_dead_node_ages_out(redis_url):
    prefix = f"test:{uuid.uuid4().hex}:"
    alive = RedisPresence(redis_url, ttl=60, prefix=prefix)
    dying = RedisPresence(redis_url, ttl=0.2, prefix=prefix)
    u1, u2 = uuid.uuid4(), uuid.uuid4()
    v1, v1b = Viewer("s1", u1, "one"), Viewer("s1b", u1, "one")
    v2, anon = Viewer("s2", u2, "two"), Viewer("s3", None, None)
    try:
        for v in (v1, v1b, anon):
            await alive.enter("room", v)
        await dying.enter("room", v2)
        assert await alive.count("room") == 4
        assert sorted(u["handle"] for u in await alive.users("room", 10)) == ["one", "two"]
        await alive.leave("room", v1b)
        assert await alive.count("room") == 3
        await asyncio.sleep(0.3)  # the dying node never refreshes its entry
        await alive.refresh([("room", v1), ("room", anon), ("room", v1b)])
        assert await alive.count("room") == 2
        assert await alive.users("room", 10) == [{"id": str(u1), "handle": "one"}]
    finally:
        await alive.close()
        await dying.close()
