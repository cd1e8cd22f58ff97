"""A live broadcast closes exactly once (``engine/broadcasts.py``, ``live/broadcasts.py``).

Three things end a broadcast at once here: the publisher's WHIP DELETE, the watchdog's media
timeout and the node's shutdown. The close is held open until all three have asked, so they
truly overlap; then each part (the publisher's session, the pipeline) and each close step runs
once, in order, with the first reason recorded, and the DELETE is answered as a success.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest

from api.streams import store
from engine.broadcasts import Broadcast
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEPS = ["timeline", "leave", "run", "viewers", "billing", "moderation", "stream", "announce"]


async def test_delete_timeout_and_shutdown_close_a_broadcast_once(
    server, http, new_stream, monkeypatch
):
    stream_id, token = await new_stream("Closed once")
    pub = await publish(http, server.base_url, stream_id, token)
    broadcast = server.broadcasts[stream_id]
    session = broadcast.publisher
    assert session is not None

    ran: list[str] = []  # every part and step, in the order it ran
    asks: list[str] = []  # every later request to close, with its reason
    all_asked = asyncio.Event()
    release = asyncio.Event()

    def counted(name, step):
        async def run(*args):
            ran.append(name)
            return await step(*args)

        return run

    source_close, pipeline_stop = session.close, broadcast.pipeline.stop

    async def held_source_close():
        ran.append("source")
        await release.wait()  # the close stays open until every asker asked
        await source_close()

    session.close = held_source_close
    broadcast.pipeline.stop = counted("pipeline", pipeline_stop)
    broadcast.steps = [(name, counted(name, step)) for name, step in broadcast.steps]
    assert [name for name, _ in broadcast.steps] == STEPS

    close_soon = Broadcast.close_soon

    def asked(self, reason):
        if self is broadcast:
            asks.append(reason)
            if {"publisher sent DELETE", "server shutdown"} <= set(asks):
                all_asked.set()
        return close_soon(self, reason)

    monkeypatch.setattr(Broadcast, "close_soon", asked)

    # 1. The watchdog finds no media for longer than the timeout (its test at a later time).
    timed_out = session.check(time.monotonic() + session.media_timeout + 1)
    assert timed_out == f"no media for {session.media_timeout:g} s"
    assert broadcast.closing and broadcast.stop_reason == timed_out  # the close began
    # 2. The publisher's DELETE arrives while the close runs.
    deleting = asyncio.ensure_future(pub.delete(http, server.base_url))
    # 3. The node shuts down: `LiveBroadcasts.close` closes each broadcast so (the other tests'
    # broadcasts on this shared server are left alone).
    shutdown = asyncio.ensure_future(broadcast.close("server shutdown"))
    await asyncio.wait_for(all_asked.wait(), 30)
    assert ran == ["source"]  # nothing past the held first part yet
    release.set()

    assert await deleting == 200
    await shutdown
    await broadcast.close("again, afterwards")  # a late caller: already closed, nothing reruns

    assert broadcast.stop_reason == timed_out  # the first reason stays
    assert sorted(asks) == ["again, afterwards", "publisher sent DELETE", "server shutdown"]
    assert ran == ["source", "pipeline", *STEPS]
    assert Counter(ran) == Counter({name: 1 for name in ran})
    assert stream_id not in server.broadcasts
    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state == "ended"
    await pub.pc.close()
