"""The studio's live health: the server's view of a real WHIP broadcast (an aiortc publisher
sending 1280x720): incoming bitrate, picture size, frame rate, dropped frames, viewers."""

from __future__ import annotations

import asyncio

import pytest

from api.auth.rbac import Role
from tests.chatclient import ChatClient
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_health_of_a_live_broadcast(server, http, new_stream, performer, account):
    sid, token = await new_stream("Health")
    path = f"/api/v1/streams/{sid}/health"
    idle = await performer.call("GET", path)
    assert idle.status == 200, idle.body
    assert (idle.data["live"], idle.data["bitrateKbps"]) == (False, None)

    pub = await publish(http, server.base_url, sid, token)
    viewer = await ChatClient().connect(server.base_url)
    try:
        assert (await viewer.join(sid))["ok"]
        await performer.call("GET", path)  # the first poll: the average since the start
        await asyncio.sleep(1.5)
        h = (await performer.call("GET", path)).data
        assert h["live"] and h["onThisNode"], h
        assert (h["width"], h["height"]) == (1280, 720), h
        assert 1.0 <= h["windowSeconds"] < 10, h  # the time since the previous poll
        assert h["bitrateKbps"] > 50, h  # a real encoder sends far more than this
        assert 10 <= h["frameRate"] <= 35, h  # the publisher sends 30 fps
        assert h["droppedFrames"] >= 0 and h["viewers"] == 1, h
        assert h["webrtcViewers"] == 0 and h["uptimeSeconds"] >= 1.5, h

        rival = await account(Role.CREATOR)
        r = await rival.call("GET", path)
        assert (r.status, r.code) == (403, "NOT_STREAM_OWNER")
    finally:
        await viewer.close()
        await pub.delete(http, server.base_url)
