"""Two API processes share the room's engagement through Redis and PostgreSQL: the mood strip
sums both processes' votes on each, a poll closes once, announced once on both, and a duel's
scoreboard and end reach both rooms on both processes, the end once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from api.auth.rbac import Role
from api.engagement import events
from api.streams import store
from api.wallet.service import LEDGER
from tests.apinode import start_node, stop_node
from tests.chatauth import ChatUser, sign_in
from tests.conftest import free_port
from tests.integration.wallet.conftest import fund

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def nodes(pg_dsn, redis_url, tmp_path_factory) -> Iterator[list[str]]:
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            procs.append(
                start_node(
                    pg_dsn,
                    tmp_path_factory.mktemp(f"engage{i}"),
                    port,
                    redis_url=redis_url,
                    node_id=f"engage-{i}",
                    poll_sweep_interval="0.2",
                    mood_vote_interval="30",  # a second vote is refused, however slow the test
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            stop_node(proc)


async def _user(chat_server, nodes, *roles: Role) -> ChatUser:
    return await sign_in(chat_server, *roles, prefix="engage", base_url=nodes[0])


async def _room(chat_server, creator: ChatUser) -> str:
    row, _ = await store.create_stream(
        chat_server.pool,
        title="Two nodes",
        creator_handle=creator.handle,
        creator_id=creator.user_id,
    )
    return str(row.id)


async def test_the_strip_sums_the_votes_of_both_processes(nodes, connect, chat_server):
    creator = await _user(chat_server, nodes, Role.CREATOR)
    room = await _room(chat_server, creator)
    studio = await connect(creator, base_url=nodes[0])
    assert (await studio.join(room))["ok"]
    voters, users = [], []
    for i in range(8):
        users.append(await _user(chat_server, nodes))
        v = await connect(users[-1], base_url=nodes[i % 2])
        assert (await v.join(room))["ok"]
        voters.append(v)
    moods = ["energetic"] * 5 + ["dreamy"] * 3
    acks = await asyncio.gather(
        *(
            v.call(events.MOOD_VOTE, {"streamId": room, "mood": m})
            for v, m in zip(voters, moods, strict=True)
        )
    )
    assert all(a["ok"] for a in acks), acks
    for client in (studio, voters[1]):  # one on each process
        last = await client.wait_for(
            lambda c=client: (
                (s := c.received[events.MOOD_DISTRIBUTION]) and s[-1]["total"] == 8 and s[-1]
            ),
            what="the strip with both processes' votes",
        )
        assert (last["counts"]["energetic"], last["counts"]["dreamy"], last["votes"]) == (5, 3, 8)
    # The rate limit is shared: the first voter's second vote, through the other process
    # (within the interval), is refused and not counted.
    other = await connect(users[0], base_url=nodes[1])
    assert (await other.join(room))["ok"]
    again = await other.call(events.MOOD_VOTE, {"streamId": room, "mood": "calm"})
    assert again["ok"] is False and again["code"] == "RATE_LIMITED"


async def test_a_poll_closes_once_across_processes(nodes, connect, chat_server):
    creator = await _user(chat_server, nodes, Role.CREATOR)
    room = await _room(chat_server, creator)
    studio = await connect(creator, base_url=nodes[0])
    assert (await studio.join(room))["ok"]
    voters = []
    for i in range(4):
        v = await connect(await _user(chat_server, nodes), base_url=nodes[i % 2])
        assert (await v.join(room))["ok"]
        voters.append(v)
    opened = await studio.call(
        events.POLL_OPEN,
        {"streamId": room, "question": "Encore?", "options": ["Yes", "No"], "seconds": 5},
    )
    assert opened["ok"], opened
    poll = opened["poll"]
    acks = await asyncio.gather(
        *(
            v.call(events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": o})
            for v, o in zip(voters, [0, 0, 1, 0], strict=True)
        )
    )
    assert all(a["ok"] for a in acks), acks
    # Both processes sweep every 0.2 s and the opening one also has a timer at the deadline:
    # one of them closes it, and every client, on either process, hears it once.
    for client in (studio, *voters):
        closed = await client.wait_for(
            lambda c=client: c.received[events.POLL_CLOSED], timeout=15, what="the close"
        )
        assert closed[0]["poll"]["winner"] == 0
        assert [t["votes"] for t in closed[0]["poll"]["tally"]] == [3, 1]
    await asyncio.sleep(1.0)  # several more sweeps on both processes
    for client in (studio, *voters):
        assert len(client.received[events.POLL_CLOSED]) == 1
    late = await voters[1].call(
        events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": 1}
    )
    assert late["ok"] is False and late["code"] == "POLL_CLOSED"


async def test_a_duel_ends_once_across_processes(nodes, connect, chat_server, http):
    rooms, studios, viewers = [], [], []
    for i in range(2):
        creator = await _user(chat_server, nodes, Role.CREATOR)
        room = await _room(chat_server, creator)
        await chat_server.pool.execute(
            "UPDATE streams SET state = 'live', started_at = now() WHERE id = $1::uuid", room
        )
        studio = await connect(creator, base_url=nodes[i])
        assert (await studio.join(room))["ok"]
        viewer = await connect(await _user(chat_server, nodes), base_url=nodes[1 - i])
        assert (await viewer.join(room))["ok"]
        rooms.append(room)
        studios.append(studio)
        viewers.append(viewer)
    invited = await studios[0].call(
        events.DUEL_INVITE, {"streamId": rooms[0], "opponentStreamId": rooms[1], "seconds": 30}
    )
    assert invited["ok"], invited
    duel_id = invited["duel"]["id"]
    accepted = await studios[1].call(events.DUEL_ACCEPT, {"streamId": rooms[1], "duelId": duel_id})
    assert accepted["ok"], accepted
    fan = await _user(chat_server, nodes)
    await fund(chat_server.app[LEDGER], fan.user_id, 100)
    async with http.post(
        f"{nodes[1]}/api/v1/streams/{rooms[1]}/tip",
        json={"amount": 15},
        headers={**fan.headers, "Idempotency-Key": uuid.uuid4().hex},
    ) as res:
        assert res.status == 201, await res.json()
    for client in (*studios, *viewers):  # the scoreboard reaches both rooms on both processes
        await client.wait_for(
            lambda c=client: (
                (s := c.received[events.DUEL_SCORE]) and s[-1]["scores"]["opponent"] == 15
            ),
            what="the scoreboard",
        )
    await chat_server.pool.execute(
        "UPDATE stream_duels SET deadline = now() WHERE id = $1::uuid", duel_id
    )
    for client in (*studios, *viewers):
        ended = await client.wait_for(
            lambda c=client: c.received[events.DUEL_ENDED], timeout=15, what="the end"
        )
        assert ended[0]["duel"]["winner"] == "opponent"
    await asyncio.sleep(1.0)  # several more sweeps on both processes
    for client in (*studios, *viewers):
        assert len(client.received[events.DUEL_ENDED]) == 1
