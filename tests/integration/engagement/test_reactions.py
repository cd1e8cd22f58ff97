"""Milestones and the reactive avatar over real tips and real Socket.IO clients: each
milestone announced once, the avatar's changes heard by the room, bad input refused."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.auth.rbac import Role
from api.wallet.service import LEDGER
from tests.integration.wallet.conftest import fund

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def tip(http, base: str, who, room: str, amount: int, key: str | None = None) -> dict:
    async with http.post(
        f"{base}/api/v1/streams/{room}/tip",
        json={"amount": amount},
        headers={**who.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    ) as res:
        body = await res.json()
        assert res.status == 201, body
        return body["data"]


async def live_room(user, connect, new_room, chat_server):
    creator = await user(Role.CREATOR)
    room = await new_room(creator)
    await chat_server.pool.execute(
        "UPDATE streams SET state = 'live', started_at = now() WHERE id = $1", uuid.UUID(room)
    )
    watcher = await connect(await user())
    assert (await watcher.join(room))["ok"]
    fan = await user()
    await fund(chat_server.app[LEDGER], fan.user_id, 1000)
    return creator, room, watcher, fan


async def test_milestones_are_announced_once_each(user, connect, new_room, chat_server, http):
    creator, room, watcher, fan = await live_room(user, connect, new_room, chat_server)
    base = chat_server.base_url
    url = f"{base}/api/v1/streams/{room}/milestones"
    ladder = {
        "milestones": [
            {"title": "Wave", "target": 20},
            {"title": "Dance", "target": 60},
            {"title": "Song", "target": 500},
        ]
    }
    async with http.put(url, json=ladder, headers=creator.headers) as res:
        body = await res.json()
    assert res.status == 200, body
    assert [m["target"] for m in body["data"]] == [20, 60, 500]
    for bad in (
        {"milestones": [{"title": "x", "target": 0}]},
        {"milestones": [{"title": "x", "target": -5}]},
        {"milestones": [{"title": "", "target": 5}]},
    ):
        async with http.put(url, json=bad, headers=creator.headers) as res:
            assert (await res.json())["code"] == "VALIDATION_ERROR"
    async with http.put(url, json=ladder, headers=fan.headers) as res:
        assert (await res.json())["code"] == "NOT_STREAM_OWNER"

    await asyncio.gather(*(tip(http, base, fan, room, 10) for _ in range(7)))  # 70 tokens
    reached = await watcher.wait_for(
        lambda: (
            len(watcher.received["money:milestone.reached"]) >= 2
            and watcher.received["money:milestone.reached"]
        ),
        what="two milestones",
    )
    await tip(http, base, fan, room, 5)  # more tips: nothing reached again
    await asyncio.sleep(0.6)
    reached = watcher.received["money:milestone.reached"]
    assert sorted(m["title"] for m in reached) == ["Dance", "Wave"]
    async with http.get(url) as res:
        now = {m["title"]: m for m in (await res.json())["data"]}
    assert now["Song"]["reachedAt"] is None and now["Song"]["progress"] == 75
    assert now["Wave"]["reachedAt"] is not None


async def test_the_avatar_reacts_to_tip_sizes(user, connect, new_room, chat_server, http):
    creator, room, watcher, fan = await live_room(user, connect, new_room, chat_server)
    base = chat_server.base_url
    url = f"{base}/api/v1/streams/{room}/avatar"
    async with http.put(
        url, json={"happy": 5, "excited": 20, "wow": 100}, headers=creator.headers
    ) as res:
        body = await res.json()
    assert res.status == 200 and body["data"]["state"] == "idle", body
    async with http.put(
        url, json={"happy": 50, "excited": 20, "wow": 100}, headers=creator.headers
    ) as res:
        assert (await res.json())["code"] == "INVALID_THRESHOLDS"
    async with http.put(
        url, json={"happy": 0, "excited": 20, "wow": 100}, headers=creator.headers
    ) as res:
        assert (await res.json())["code"] == "VALIDATION_ERROR"

    await tip(http, base, fan, room, 2)  # below happy: no change
    await tip(http, base, fan, room, 25)  # excited
    changes = await watcher.wait_for(
        lambda: watcher.received["money:avatar"], what="the avatar's change"
    )
    assert changes[0]["state"] == "excited" and changes[0]["until"]
    await tip(http, base, fan, room, 6)  # happy is below excited: stays excited
    await tip(http, base, fan, room, 150)  # wow
    await watcher.wait_for(
        lambda: watcher.received["money:avatar"][-1]["state"] == "wow", what="wow"
    )
    assert [c["state"] for c in watcher.received["money:avatar"]] == ["excited", "wow"]
    async with http.get(url) as res:
        assert (await res.json())["data"]["state"] == "wow"
    # the hold ends: idle again, announced once
    await chat_server.pool.execute(
        "UPDATE stream_avatars SET until = now() WHERE stream_id = $1", uuid.UUID(room)
    )
    async with http.get(url) as res:
        assert (await res.json())["data"]["state"] == "idle"
