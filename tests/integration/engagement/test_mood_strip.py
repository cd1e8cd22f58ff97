"""The mood strip over real Socket.IO clients: votes counted once, aggregated, broadcast a few
times a second (not per vote), refused when too frequent or malformed, persisted per minute."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.auth.rbac import Role
from api.engagement import events
from api.engagement.realtime import MOOD_STRIP

pytestmark = pytest.mark.asyncio(loop_scope="session")


def strips(client) -> list[dict]:
    return client.received[events.MOOD_DISTRIBUTION]


async def vote(client, room: str, mood: str) -> dict:
    return await client.call(events.MOOD_VOTE, {"streamId": room, "mood": mood})


async def test_votes_are_aggregated_and_broadcast_to_the_room(user, connect, new_room, chat_server):
    creator = await user(Role.CREATOR)
    room = await new_room(creator)
    studio = await connect(creator)
    assert (await studio.join(room))["ok"]
    voters = [await connect(await user()) for _ in range(12)]
    for v in voters:
        assert (await v.join(room))["ok"]
    strip = chat_server.app[MOOD_STRIP]
    sent_before = strip.broadcasts
    moods = ["playful"] * 6 + ["flirty"] * 4 + ["calm"] * 2
    acks = await asyncio.gather(*(vote(v, room, m) for v, m in zip(voters, moods, strict=True)))
    assert all(a["ok"] for a in acks), acks
    assert sorted(a["seq"] for a in acks) == list(range(1, 13))  # each counted once
    expected = {"playful": 6, "flirty": 4, "calm": 2}
    for client in (studio, voters[0]):
        last = await client.wait_for(
            lambda c=client: strips(c) and strips(c)[-1]["total"] == 12 and strips(c)[-1],
            what="the strip with all twelve votes",
        )
        assert {m: n for m, n in last["counts"].items() if n} == expected
        assert last["streamId"] == room and last["votes"] == 12 and last["windowSeconds"] == 30
    # Twelve votes, a handful of broadcasts: aggregated per tick, not one per vote.
    assert len(strips(studio)) <= 3
    assert strip.broadcasts - sent_before <= 3 * len(strip.rooms)
    # A newcomer asks for the strip as it is.
    late = await connect(await user())
    assert (await late.join(room))["ok"]
    now = await late.call(events.MOOD_GET, {"streamId": room})
    assert now["ok"] and now["total"] == 12 and now["counts"]["playful"] == 6


async def test_too_frequent_votes_are_refused_and_not_counted(user, connect, new_room):
    room = await new_room(await user(Role.CREATOR))
    voter = await connect(await user())
    assert (await voter.join(room))["ok"]
    first = await vote(voter, room, "dreamy")
    second = await vote(voter, room, "dreamy")
    assert first["ok"] and first["seq"] == 1
    assert second["ok"] is False and second["code"] == "RATE_LIMITED"
    assert second["retryAfter"] >= 1 and second["meta"]["intervalSeconds"] == 0.5
    last = await voter.wait_for(lambda: strips(voter) and strips(voter)[-1], what="a strip")
    assert last["total"] == 1 and last["counts"]["dreamy"] == 1
    await asyncio.sleep(0.6)  # the interval passed: the next vote counts
    third = await vote(voter, room, "intense")
    assert third["ok"] and third["seq"] == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mood": "ecstatic"}, "mood"),  # not one of the eight
        ({"mood": "calm" * 10_000}, "mood"),  # oversized
        ({"mood": "calm", "weight": 50}, "weight"),  # a vote weighs one
        ({"mood": None}, "mood"),
    ],
)
async def test_malformed_votes_are_validation_errors(user, connect, new_room, payload, field):
    room = await new_room(await user(Role.CREATOR))
    voter = await connect(await user())
    assert (await voter.join(room))["ok"]
    ack = await voter.call(events.MOOD_VOTE, {"streamId": room, **payload})
    assert ack["ok"] is False and ack["code"] == "VALIDATION_ERROR"
    assert field in {e["field"] for e in ack["meta"]["errors"]}
    ok = await vote(voter, room, "calm")  # nothing was counted (nor rate-limited) before
    assert ok["ok"] and ok["seq"] == 1


async def test_voting_needs_the_room_and_an_account(user, connect, new_room):
    room = await new_room(await user(Role.CREATOR))
    outsider = await connect(await user())
    ack = await vote(outsider, room, "calm")
    assert ack["ok"] is False and ack["code"] == "NOT_IN_ROOM"
    anonymous = await connect()
    assert (await anonymous.join(room))["ok"]
    ack = await vote(anonymous, room, "calm")
    assert ack["ok"] is False and ack["code"] == "AUTH_REQUIRED"
    ack = await vote(outsider, str(uuid.uuid4()), "calm")
    assert ack["ok"] is False and ack["code"] == "NOT_IN_ROOM"


async def test_votes_are_persisted_per_minute(user, connect, new_room, chat_server, http):
    creator = await user(Role.CREATOR)
    room = await new_room(creator)
    voters = [await connect(await user()) for _ in range(3)]
    for v, mood in zip(voters, ["chill", "chill", "mysterious"], strict=True):
        assert (await v.join(room))["ok"]
        assert (await vote(v, room, mood))["ok"]
    await chat_server.app[MOOD_STRIP].persist()
    rows = await chat_server.pool.fetch(
        "SELECT mood, votes, minute FROM mood_votes WHERE stream_id = $1", uuid.UUID(room)
    )
    assert {r["mood"]: r["votes"] for r in rows} == {"chill": 2, "mysterious": 1}
    assert all(r["minute"].second == 0 for r in rows)
    # the creator's studio reads them; another member may not
    async with http.get(
        f"{chat_server.base_url}/api/v1/streams/{room}/moods", headers=creator.headers
    ) as res:
        body = await res.json()
    assert res.status == 200, body
    assert sum(m["total"] for m in body["data"]["minutes"]) == 3
    async with http.get(
        f"{chat_server.base_url}/api/v1/streams/{room}/moods", headers=(await user()).headers
    ) as res:
        body = await res.json()
    assert res.status == 403 and body["code"] == "NOT_STREAM_OWNER"
    admin = await user(Role.ADMIN)
    async with http.get(f"{chat_server.base_url}/api/v1/admin/moods", headers=admin.headers) as res:
        body = await res.json()
    assert res.status == 200 and body["data"]["counts"]["chill"] >= 2
