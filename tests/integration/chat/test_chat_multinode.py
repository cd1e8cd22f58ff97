"""Two API processes behind one (imaginary) load balancer share rooms through Redis.

Real subprocesses on real ports, sharing the session's PostgreSQL and a private redis-server:
a message sent on one reaches clients of the other, and viewer counts, presence, bans, timeouts,
rate limits and slow mode are the same whichever process a client lands on.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.auth.rbac import Role
from api.chat import events
from api.streams import store
from tests.apinode import start_node, stop_node
from tests.chatauth import ChatUser, sign_in
from tests.conftest import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

RATE_LIMIT = 5


@pytest.fixture(scope="module")
def nodes(pg_dsn, redis_url, tmp_path_factory) -> Iterator[list[str]]:
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            procs.append(
                start_node(
                    pg_dsn,
                    tmp_path_factory.mktemp(f"node{i}"),
                    port,
                    redis_url=redis_url,
                    node_id=f"api-{i}",
                    chat_rate_limit=str(RATE_LIMIT),
                    chat_rate_window="600",
                    chat_viewers_interval="0.2",
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            stop_node(proc)


async def _room(chat_server, creator: ChatUser | None = None) -> str:
    row, _ = await store.create_stream(
        chat_server.pool,
        title="Two nodes",
        creator_handle=creator.handle if creator else "nobody",
        creator_id=creator.user_id if creator else None,
    )
    return str(row.id)


async def _user(chat_server, nodes, *roles: Role) -> ChatUser:
    """A new account, signed in on the first API process (every process accepts the session:
    sessions live in the shared database)."""
    return await sign_in(chat_server, *roles, prefix="multi", base_url=nodes[0])


async def test_a_message_crosses_between_processes(nodes, connect, chat_server, http):
    room = await _room(chat_server)
    one = await connect(await _user(chat_server, nodes), base_url=nodes[0])
    two = await connect(await _user(chat_server, nodes), base_url=nodes[1])
    for client in (one, two):
        assert (await client.join(room))["ok"]
    sent = (await one.send(room, "from node one"))["message"]
    assert await two.wait_message("from node one") == sent
    sent = (await two.send(room, "from node two"))["message"]
    assert await one.wait_message("from node two") == sent
    # and both are in the shared history, whichever node is asked
    async with http.get(f"{nodes[0]}/api/v1/streams/{room}/chat") as res:
        texts = [m["text"] for m in (await res.json())["data"]]
    assert texts == ["from node one", "from node two"]


async def test_viewer_counts_and_presence_are_shared(nodes, connect, chat_server):
    room = await _room(chat_server)
    watcher_u, other_u = await _user(chat_server, nodes), await _user(chat_server, nodes)
    watcher = await connect(watcher_u, base_url=nodes[0])
    other = await connect(other_u, base_url=nodes[1])
    anonymous = await connect(base_url=nodes[1])
    for client in (watcher, other, anonymous):
        assert (await client.join(room))["ok"]

    def latest(client):
        counts = [e["count"] for e in client.received[events.VIEWERS] if e["streamId"] == room]
        return counts[-1] if counts else None

    await watcher.wait_for(lambda: latest(watcher) == 3, what="3 viewers on node one")
    await other.wait_for(lambda: latest(other) == 3, what="3 viewers on node two")
    listed = await watcher.call(events.PRESENCE, {"streamId": room})
    assert listed["count"] == 3
    assert sorted(u["handle"] for u in listed["users"]) == sorted(
        [other_u.handle, watcher_u.handle]
    )

    await other.close()
    await watcher.wait_for(lambda: latest(watcher) == 2, what="2 viewers after a leave")
    listed = await watcher.call(events.PRESENCE, {"streamId": room})
    assert [u["handle"] for u in listed["users"]] == [watcher_u.handle]


async def test_bans_and_timeouts_are_shared(nodes, connect, chat_server):
    boss_u = await _user(chat_server, nodes, Role.CREATOR)
    room = await _room(chat_server, creator=boss_u)
    boss = await connect(boss_u, base_url=nodes[0])
    target_p, muted_p = await _user(chat_server, nodes), await _user(chat_server, nodes)
    target = await connect(target_p, base_url=nodes[1])
    muted = await connect(muted_p, base_url=nodes[1])
    for client in (boss, target, muted):
        assert (await client.join(room))["ok"]

    ack = await boss.call(
        events.TIMEOUT, {"streamId": room, "userId": str(muted_p.user_id), "seconds": 300}
    )
    assert ack["ok"]
    await muted.wait_for(lambda: muted.received[events.RESTRICTED], what="timeout notice")
    assert (await muted.send(room, "hello?"))["code"] == "TIMED_OUT"

    assert (await boss.call(events.BAN, {"streamId": room, "userId": str(target_p.user_id)}))["ok"]
    banned = await target.wait_for(lambda: target.received[events.BANNED], what="banned")
    assert banned[0]["streamId"] == room
    assert (await target.send(room, "still here?"))["code"] == "NOT_IN_ROOM"
    assert (await target.join(room))["code"] == "BANNED"
    elsewhere = await connect(target_p, base_url=nodes[0])
    assert (await elsewhere.join(room))["code"] == "BANNED"
    await boss.send(room, "peace")
    await muted.wait_message("peace")
    assert "peace" not in [m["text"] for m in target.messages()]


async def test_rate_limit_and_slow_mode_are_shared(nodes, connect, chat_server):
    room = await _room(chat_server)
    talker_p = await _user(chat_server, nodes)
    on_one = await connect(talker_p, base_url=nodes[0])
    on_two = await connect(talker_p, base_url=nodes[1])
    for client in (on_one, on_two):
        assert (await client.join(room))["ok"]
    for i in range(RATE_LIMIT):
        client = (on_one, on_two)[i % 2]
        assert (await client.send(room, f"m{i}"))["ok"], i
    for client in (on_one, on_two):
        denied = await client.send(room, "over the limit")
        assert denied["code"] == "RATE_LIMITED" and denied["retryAfter"] > 0

    pacer_u = await _user(chat_server, nodes, Role.CREATOR)
    room = await _room(chat_server, creator=pacer_u)
    pacer = await connect(pacer_u, base_url=nodes[0])
    slow_p = await _user(chat_server, nodes)
    slow_one = await connect(slow_p, base_url=nodes[0])
    slow_two = await connect(slow_p, base_url=nodes[1])
    for client in (pacer, slow_one, slow_two):
        assert (await client.join(room))["ok"]
    assert (await pacer.call(events.MODE, {"streamId": room, "slowMode": 60}))["ok"]
    await slow_two.wait_for(lambda: slow_two.received[events.SETTINGS], what="settings on two")
    assert (await slow_two.send(room, "first"))["ok"]
    assert (await slow_one.send(room, "second"))["code"] == "SLOW_MODE"


async def test_teezu_api_serves_the_api_role_only(nodes, connect, chat_server, http):
    """The nodes are ``teezu api`` processes: REST and Socket.IO, but no WHIP ingest."""
    room = await _room(chat_server)
    async with http.post(f"{nodes[1]}/whip/{room}", data=b"v=0") as res:
        assert res.status == 404
    async with http.get(f"{nodes[1]}/api/v1/streams/{room}/chat") as res:
        assert res.status == 200 and (await res.json())["data"] == []
    reader = await connect(base_url=nodes[1])  # anonymous
    join = await reader.join(room)
    assert join["ok"] is True and join["canSend"] is False
    assert (await reader.send(room, "hi"))["code"] == "AUTH_REQUIRED"
    member = await connect(await _user(chat_server, nodes), base_url=nodes[0])
    assert (await member.join(room))["ok"]
    assert (await member.send(room, "across processes"))["ok"]
    await reader.wait_message("across processes")


async def test_a_tip_published_once_reaches_members_on_every_process(
    nodes, connect, chat_server, redis_url
):
    from teezu.pubsub import RedisPubSub

    room = await _room(chat_server)
    on_one, on_two = await connect(base_url=nodes[0]), await connect(base_url=nodes[1])
    for client in (on_one, on_two):
        assert (await client.join(room))["ok"]
    pubsub = RedisPubSub(redis_url)  # what a wallet on any node publishes to
    try:
        await pubsub.publish(f"stream:{room}:money", {"type": "tip", "tipId": "x", "amount": 5})
    finally:
        await pubsub.close()
    for client in (on_one, on_two):
        got = await client.wait_for(lambda c=client: c.received["money:tip"], what="tip")
        assert [m["amount"] for m in got] == [5]


async def test_chat_safety_across_processes(nodes, connect, chat_server, http, redis_url):
    """Settings changed on one process apply on the other at once; a message held on one is
    approved from the other; a removal reaches both; a freeze published once freezes both."""
    from ingest.safety import safety_channel
    from teezu.pubsub import RedisPubSub

    creator = await _user(chat_server, nodes, Role.CREATOR)
    room = await _room(chat_server, creator)
    host = await connect(creator, base_url=nodes[0])
    member = await connect(await _user(chat_server, nodes), base_url=nodes[1])
    for client in (host, member):
        assert (await client.join(room))["ok"]
    async with http.patch(
        f"{nodes[0]}/api/v1/chat/safety", json={"reviewMode": "hold"}, headers=creator.headers
    ) as res:
        assert res.status == 200
    async with http.post(
        f"{nodes[0]}/api/v1/chat/banned-words", json={"word": "nodeword"}, headers=creator.headers
    ) as res:
        assert res.status == 201
    # node two applies both from the control channel, then tells its members
    await member.wait_for(lambda: len(member.received[events.SAFETY]) == 2, what="2 reloads")
    assert member.received[events.SAFETY][0] == {"streamId": room, "reviewMode": "hold"}
    assert (await member.send(room, "n0d3w0rd"))["code"] == "MESSAGE_BLOCKED"
    held = await member.send(room, "hold me across")
    assert held["ok"] and held["held"] is True
    notice = await host.wait_for(lambda: host.received[events.HELD], what="held on node one")
    assert notice[0]["message"]["id"] == held["message"]["id"]
    ok = await host.call(events.APPROVE, {"streamId": room, "messageId": held["message"]["id"]})
    assert ok["ok"]
    await member.wait_message("hold me across")
    gone = await host.call(events.REMOVE, {"streamId": room, "messageId": held["message"]["id"]})
    assert gone["ok"] and gone["wasHeld"] is False
    await member.wait_for(lambda: member.received[events.REMOVED], what="removed on node two")

    pubsub = RedisPubSub(redis_url)  # what the node holding the broadcast publishes to
    try:
        await pubsub.publish(safety_channel(room), {"event": "frozen", "reason": "safe word"})
        for client in (host, member):
            await client.wait_for(lambda c=client: c.received[events.FROZEN], what="frozen")
        assert (await member.send(room, "still there?"))["code"] == "CHAT_FROZEN"
        await pubsub.publish(safety_channel(room), {"event": "unfrozen"})
        await member.wait_for(lambda: len(member.received[events.FROZEN]) == 2, what="unfrozen")
    finally:
        await pubsub.close()
    assert (await member.send(room, "back"))["held"] is True  # open again, still reviewed
