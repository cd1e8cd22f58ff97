"""Trending moments over real tips, votes and Socket.IO clients: a burst marks one moment
(announced once, stored once, on the timeline channel), more activity within the cooldown
marks none, and the REST list shows it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.engagement import events
from api.realtime import CHAT
from engine.room_timeline import Mark, timeline_channel
from tests.integration.engagement.test_reactions import live_room, tip

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_burst_marks_one_moment(user, connect, new_room, chat_server, http):
    creator, room, watcher, fan = await live_room(user, connect, new_room, chat_server)
    marks = await chat_server.app[CHAT].pubsub.subscribe(timeline_channel(room))
    base = chat_server.base_url
    await tip(http, base, fan, room, 200)  # 40 points at once, in a quiet room
    got = await watcher.wait_for(lambda: watcher.received[events.MOMENT_MARKED], what="moment")
    assert got[0]["streamId"] == room and got[0]["heat"] >= 20
    voter = await connect(fan)
    assert (await voter.join(room))["ok"]
    assert (await voter.call(events.MOOD_VOTE, {"streamId": room, "mood": "intense"}))["ok"]
    await tip(http, base, fan, room, 300)  # hotter still, but within the cooldown
    await asyncio.sleep(0.5)
    assert len(watcher.received[events.MOMENT_MARKED]) == 1
    assert (
        await chat_server.pool.fetchval(
            "SELECT count(*) FROM stream_moments WHERE stream_id = $1", uuid.UUID(room)
        )
        == 1
    )
    async with asyncio.timeout(5):
        mark = Mark.from_message(await marks.get())
    await marks.close()
    assert mark.kind == "moment" and mark.id == f"moment-{got[0]['id']}"
    async with http.get(f"{base}/api/v1/streams/{room}/moments") as res:
        body = await res.json()
    assert res.status == 200, body
    assert [m["id"] for m in body["data"]] == [got[0]["id"]]
    async with http.get(f"{base}/api/v1/streams/{uuid.uuid4()}/moments") as res:
        assert (await res.json())["code"] == "STREAM_NOT_FOUND"
