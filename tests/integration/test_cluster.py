"""The cluster as separate processes behind nginx (docs/cluster.md): 2 API nodes, 2 ingest nodes,
1 worker, Redis, the session's PostgreSQL.

A publisher's WHIP offer through the front door is placed on an ingest node (the second stream
on the other, least-loaded one), a viewer reads LL-HLS through nginx (parts cached, a repeat is
a cache hit) and watches over WHEP through nginx, chat crosses the API nodes, and a `kill -9`
of an ingest node ends its stream.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator

import aiohttp
import pytest

from teezu.placement import Placement
from tests.chatauth import sign_in
from tests.chatclient import ChatClient
from tests.cluster import Cluster, running_cluster
from tests.hlscheck import fetch, wait_for_master, wait_for_playlist
from tests.publisher import publish
from tests.viewer import watch

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def cluster(pg_dsn, redis_url, tmp_path_factory) -> Iterator[Cluster]:
    with running_cluster(pg_dsn, redis_url, tmp_path_factory.mktemp("cluster")) as c:
        yield c


async def _until(check, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _holder(server, stream_id: str) -> str | None:
    return await server.pool.fetchval(
        "SELECT ingest_node FROM streams WHERE id = $1 AND state = 'live'", uuid.UUID(stream_id)
    )


async def _origin_responses(http: aiohttp.ClientSession, node: str) -> float:
    """The responses a node's app has sent so far (its /metrics, read from loopback)."""
    async with http.get(f"{node}/metrics") as res:
        text = await res.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('teezu_http_responses_total{server="app"')
    )


async def test_publish_watch_and_chat_through_the_front_door(
    cluster, server, http, new_stream, redis_url
):
    door = cluster.front_door
    placement = Placement(redis_url, ttl=cluster.topology.heartbeat_ttl)
    first, first_token = await new_stream("Cluster one")
    second, second_token = await new_stream("Cluster two")
    pubs = []
    try:
        pubs.append(await publish(http, door, first, first_token, size=(640, 360)))
        holder = await _until(lambda: _holder(server, first), "the first stream live")
        assert holder in ("ingest-0", "ingest-1")
        assert await placement.locate(first) == holder

        # The holder's next beat counts the stream: the second publisher goes to the other node.
        async def counted():
            return {n.node: n.streams for n in await placement.nodes()}.get(holder) == 1

        await _until(counted, "the holder's beat to count its stream")
        pubs.append(await publish(http, door, second, second_token, size=(640, 360)))
        other = await _until(lambda: _holder(server, second), "the second stream live")
        assert {holder, other} == {"ingest-0", "ingest-1"}

        # A viewer reads LL-HLS of the first stream through nginx only.
        master = await wait_for_master(http, door, first)
        variant = master.playlists[0].absolute_uri
        playlist = await wait_for_playlist(http, variant, segments=1)
        segment = next(s for s in playlist.segments if s.uri)
        url = segment.absolute_uri
        status, body = await fetch(http, url)
        assert status == 200 and len(body) > 0
        async with http.get(url) as res:  # the same object again: answered by nginx's cache
            assert res.status == 200 and await res.read() == body
            assert res.headers.get("X-Cache") == "HIT"
        # 20 viewers ask for the same next playlist update at once (LL-HLS blocking request):
        # nginx holds them on one origin request (proxy_cache_lock) and answers all alike.
        before = await _origin_responses(http, cluster.url(holder))
        msn = playlist.media_sequence + len([s for s in playlist.segments if s.uri]) + 1
        blocking = f"{variant}?_HLS_msn={msn}&_HLS_part=0"
        answers = await asyncio.gather(*(fetch(http, blocking) for _ in range(20)))
        assert {status for status, _ in answers} == {200}
        assert len({body for _, body in answers}) == 1
        # one origin response for the 20, plus this scrape's own (counted before it renders)
        assert await _origin_responses(http, cluster.url(holder)) - before <= 2

        # And over WHEP through nginx: the offer and the session's DELETE reach the holder.
        viewer = await watch(http, door, first, audio=False)
        try:
            await viewer.wait_frames(5)
        finally:
            assert await viewer.delete(http, door) in (200, 204)
        # The API answers the placement question only inside the front door.
        async with http.get(f"{door}/internal/placement") as res:
            assert res.status == 404

        # Chat: a viewer through the front door, one on each API node directly.
        clients = []
        try:
            for base in (door, cluster.url("api-0"), cluster.url("api-1")):
                account = await sign_in(server, prefix="cluster", base_url=base)
                client = await ChatClient().connect(base, account.headers)
                clients.append(client)
                assert (await client.join(first))["ok"]
            sent = (await clients[0].send(first, "through the front door"))["message"]
            for client in clients[1:]:
                assert await client.wait_message("through the front door") == sent
        finally:
            for client in clients:
                await client.close()
    finally:
        for pub in pubs:
            with_status = await pub.delete(http, door)
            assert with_status in (200, 204, 404)
        await placement.close()


async def test_kill_9_of_the_ingest_node_ends_its_stream(cluster, server, http, new_stream):
    """The worker ends a stream whose node stopped beating, within the heartbeat's lifetime."""
    stream_id, token = await new_stream("Cluster crash")
    pub = await publish(http, cluster.front_door, stream_id, token, size=(640, 360))
    try:
        holder = await _until(lambda: _holder(server, stream_id), "the stream live")
        os.kill(cluster.procs[holder].pid, signal.SIGKILL)
        cluster.procs[holder].wait()

        async def ended():
            state = await server.pool.fetchval(
                "SELECT state FROM streams WHERE id = $1", uuid.UUID(stream_id)
            )
            return state == "ended"

        # The beat's lifetime plus one sweep of the worker, with slack for a busy machine.
        await _until(ended, "the stream ended", timeout=cluster.topology.heartbeat_ttl * 5)
    finally:
        await pub.pc.close()


async def test_a_publisher_with_no_healthy_ingest_node_gets_503(cluster, http, new_stream):
    """After the kill above only one ingest node beats; stop it too: the front door says 503."""
    live = [n for r, n, _ in cluster.topology.nodes() if r == "ingest"]
    for node in live:
        proc = cluster.procs[node]
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)
    stream_id, token = await new_stream("Nowhere to go")
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{cluster.front_door}/whip/{stream_id}",
            data="v=0\r\n",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {token}"},
        ) as res:
            assert res.status == 503
            assert (await res.json())["code"] == "NO_INGEST_NODE"
