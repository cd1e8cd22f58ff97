"""Discover's server side: search and filters on the live list, tags, language and the mood
colour in stream settings, and viewer counts from the stream's chat room."""

from __future__ import annotations

import uuid

import pytest

from api.auth.rbac import Role
from tests.chatclient import ChatClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def live_stream(server, creator, title: str, **settings) -> str:
    r = await creator.call("POST", "/api/v1/streams", json={"title": title})
    assert r.status == 201, r.body
    sid = r.data["id"]
    if settings:
        r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json=settings)
        assert r.status == 200, r.body
    # Live without a publisher: the list filters are what is under test, not the broadcast.
    await server.pool.execute("UPDATE streams SET state = 'live' WHERE id = $1::uuid", sid)
    return sid


async def live_ids(client, query: str) -> set[str]:
    r = await client.call("GET", f"/api/v1/streams?state=live&limit=100&{query}")
    assert r.status == 200, r.body
    return {s["id"] for s in r.data}


async def test_search_and_filters_narrow_the_live_list(server, account, client):
    word = uuid.uuid4().hex[:8]  # a word only this test's titles carry
    alice = await account(Role.CREATOR)
    bob = await account(Role.CREATOR)
    yoga = await live_stream(
        server, alice, f"Morning yoga {word}", tags=["yoga", "calm-vibes"], language="nl"
    )
    cook = await live_stream(server, bob, f"Cooking {word} night", tags=["food"], language="en")
    other = await live_stream(server, bob, "Something else entirely", tags=["yoga"])
    await server.pool.execute(
        "INSERT INTO stream_safety (stream_id, rating) VALUES ($1::uuid, 'sfw')", cook
    )

    assert await live_ids(client, f"q={word}") == {yoga, cook}
    assert await live_ids(client, f"q=YOGA+{word}") == {yoga}  # every word, any case
    assert await live_ids(client, f"q={alice.handle}") == {yoga}  # the creator's handle too
    assert await live_ids(client, f"q={word}&tag=yoga") == {yoga}
    assert {yoga, other} <= await live_ids(client, "tag=yoga")
    assert cook not in await live_ids(client, "tag=yoga")
    assert await live_ids(client, f"q={word}&language=nl") == {yoga}
    # no safety row: the platform's default rating, adult
    assert await live_ids(client, f"q={word}&rating=sfw") == {cook}
    assert await live_ids(client, f"q={word}&rating=adult") == {yoga}
    # LIKE's own wildcards are literal in a search
    assert await live_ids(client, "q=%25") == set()

    for bad in ("tag=Not+A+Tag", "language=dutch", "rating=spicy", "q="):
        r = await client.call("GET", f"/api/v1/streams?{bad}")
        assert (r.status, r.code) == (422, "VALIDATION_ERROR"), bad


async def test_tags_language_and_mood_in_stream_settings(account, client):
    creator = await account(Role.CREATOR)
    r = await creator.call("POST", "/api/v1/streams", json={"title": "Moody"})
    sid = r.data["id"]
    assert (r.data["tags"], r.data["language"], r.data["mood"]) == ([], None, None)

    body = {"tags": ["music", "lo-fi"], "language": "nl", "mood": "dreamy"}
    r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json=body)
    assert r.status == 200, r.body
    got = (await client.call("GET", f"/api/v1/streams/{sid}")).data
    assert (got["tags"], got["language"], got["mood"]) == (["music", "lo-fi"], "nl", "dreamy")

    # a title change keeps them; an explicit null clears one
    r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json={"title": "Renamed"})
    assert (r.data["mood"], r.data["language"]) == ("dreamy", "nl")
    r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json={"mood": None})
    assert (r.data["mood"], r.data["language"]) == (None, "nl")

    for bad in (
        {"mood": "grumpy"},
        {"tags": ["x"] * 11},
        {"tags": ["Has Space"]},
        {"language": "NL"},
    ):
        r = await creator.call("PATCH", f"/api/v1/streams/{sid}", json=bad)
        assert (r.status, r.code) == (422, "VALIDATION_ERROR"), bad


async def test_live_streams_carry_their_room_viewer_count(server, account, client):
    creator = await account(Role.CREATOR)
    sid = await live_stream(server, creator, "Counted")
    idle = (await creator.call("POST", "/api/v1/streams", json={"title": "Idle"})).data["id"]

    assert (await client.call("GET", f"/api/v1/streams/{sid}")).data["viewers"] == 0
    viewers = [await ChatClient().connect(server.base_url) for _ in range(2)]
    try:
        for v in viewers:
            assert (await v.join(sid))["ok"]
        assert (await client.call("GET", f"/api/v1/streams/{sid}")).data["viewers"] == 2
        listed = await client.call("GET", f"/api/v1/streams?creator={creator.handle}")
        counts = {s["id"]: s["viewers"] for s in listed.data}
        assert counts == {sid: 2, idle: None}  # idle streams have no count
    finally:
        for v in viewers:
            await v.close()
