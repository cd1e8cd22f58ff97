"""Pub/sub: in-process, and through a real redis-server started for the test; stream events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from teezu.pubsub import LocalPubSub, PubSub, RedisPubSub, create_pubsub
from tests.integration.test_whip_errors import make_offer, post

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(params=["local", "redis"], loop_scope="session")
async def pubsub(request, redis_url) -> AsyncIterator[PubSub]:
    ps = create_pubsub(redis_url if request.param == "redis" else "")
    assert isinstance(ps, RedisPubSub if request.param == "redis" else LocalPubSub)
    yield ps
    await ps.close()


async def test_fan_out_to_every_subscriber_of_the_channel(pubsub):
    a = await pubsub.subscribe("stream:a")
    b = await pubsub.subscribe("stream:a")
    other = await pubsub.subscribe("stream:b")
    await pubsub.publish("stream:a", {"state": "live", "n": 1})
    assert await asyncio.wait_for(a.get(), 5) == {"state": "live", "n": 1}
    assert await asyncio.wait_for(b.get(), 5) == {"state": "live", "n": 1}
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(other.get(), 0.3)
    for sub in (a, b, other):
        await sub.close()


async def test_closed_subscription_receives_nothing(pubsub):
    a = await pubsub.subscribe("stream:c")
    await a.close()
    keep = await pubsub.subscribe("stream:c")
    await pubsub.publish("stream:c", {"x": 1})
    assert await asyncio.wait_for(keep.get(), 5) == {"x": 1}
    await keep.close()


async def test_two_redis_clients_talk_across_connections(redis_url):
    """What two nodes do: one publishes, the other's subscriber receives."""
    node_a, node_b = RedisPubSub(redis_url), RedisPubSub(redis_url)
    sub = await node_b.subscribe("stream:x")
    await node_a.publish("stream:x", {"state": "ended"})
    assert await asyncio.wait_for(sub.get(), 5) == {"state": "ended"}
    await sub.close()
    await node_a.close()
    await node_b.close()


async def _sse_events(resp, count: int) -> list[dict]:
    events: list[dict] = []
    async for raw in resp.content:
        line = raw.decode().strip()
        if line.startswith("data: "):
            events.append(json.loads(line[6:]))
            if len(events) == count:
                return events
    return events


async def test_stream_events_follow_a_broadcast(server, http, new_stream):
    stream_id, token = await new_stream()
    async with http.get(f"{server.base_url}/api/v1/streams/{stream_id}/events") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first = await asyncio.wait_for(_sse_events(resp, 1), 5)
        assert first == [{"state": "idle"}]
        status, headers, body = await post(http, server, stream_id, await make_offer(), token=token)
        assert status == 201, body
        auth = {"Authorization": f"Bearer {token}"}
        async with http.delete(server.base_url + headers["Location"], headers=auth) as res:
            assert res.status == 200
        events = await asyncio.wait_for(_sse_events(resp, 2), 10)
    assert events[0] == {"state": "live"}
    assert events[1]["state"] == "ended" and events[1]["reason"] == "publisher sent DELETE"


async def test_stream_events_unknown_stream_is_404(server, http):
    async with http.get(f"{server.base_url}/api/v1/streams/nope/events") as resp:
        assert resp.status == 404
        assert (await resp.json())["code"] == "STREAM_NOT_FOUND"
