"""Direct messages over Socket.IO between two API processes sharing PostgreSQL and Redis.

Delivery with acks, read receipts and typing reach the other side on the other process; the
``dm.send`` permission, blocks, the recipient's filter and the shared rate limit answer with
the envelope's codes, and nothing refused is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from api.auth.rbac import Role
from tests.apinode import start_node, stop_node
from tests.chatauth import ChatUser, sign_in
from tests.conftest import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

RATE_LIMIT = 6


@pytest.fixture(scope="module")
def nodes(pg_dsn, redis_url, tmp_path_factory) -> Iterator[list[str]]:
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            procs.append(
                start_node(
                    pg_dsn,
                    tmp_path_factory.mktemp(f"dmnode{i}"),
                    port,
                    redis_url=redis_url,
                    node_id=f"dm-{i}",
                    message_rate_limit=str(RATE_LIMIT),
                    chat_typing_interval="0",
                    chat_session_recheck="0.3",
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for proc in procs:
            stop_node(proc)


async def _open(http, base: str, me: ChatUser, other: ChatUser) -> str:
    async with http.post(
        f"{base}/api/v1/conversations", json={"handle": other.handle}, headers=me.headers
    ) as res:
        assert res.status == 200, await res.text()
        return str((await res.json())["data"]["id"])


async def _count(chat_server, cid: str) -> int:
    return int(
        await chat_server.pool.fetchval(
            "SELECT count(*) FROM messages WHERE conversation_id = $1", uuid.UUID(cid)
        )
    )


async def test_delivery_receipts_and_typing_across_processes(nodes, connect, chat_server, http):
    member_u = await sign_in(chat_server, prefix="dm", base_url=nodes[0])
    creator_u = await sign_in(chat_server, Role.CREATOR, prefix="dm", base_url=nodes[0])
    cid = await _open(http, nodes[0], member_u, creator_u)
    member = await connect(member_u, base_url=nodes[0])
    member_tab = await connect(member_u, base_url=nodes[1])  # the sender's second tab
    creator = await connect(creator_u, base_url=nodes[1])

    ack = await member.call("dm:send", {"conversationId": cid, "text": "hi from node one"})
    assert ack["ok"], ack
    sent = ack["message"]
    assert sent["mine"] and sent["readState"] == "sent" and sent["text"] == "hi from node one"
    got = await creator.wait_for(lambda: creator.received["dm:message"], what="delivery")
    theirs = got[0]["message"]
    assert theirs["id"] == sent["id"] and not theirs["mine"] and theirs["text"] == sent["text"]
    mine = await member_tab.wait_for(lambda: member_tab.received["dm:message"], what="own tab")
    assert mine[0]["message"]["id"] == sent["id"] and mine[0]["message"]["mine"]

    # Typing on node two reaches the sender on node one (and not the typist).
    assert (await creator.call("dm:typing", {"conversationId": cid}))["sent"] is True
    typing = await member.wait_for(lambda: member.received["dm:typing"], what="typing")
    assert typing[0] == {
        "conversationId": cid,
        "userId": str(creator_u.user_id),
        "handle": creator_u.handle,
    }
    assert creator.received["dm:typing"] == []

    # The read receipt: the reader's ack counts, the sender hears it on the other process.
    read = await creator.call("dm:read", {"conversationId": cid})
    assert read == {"ok": True, "marked": 1}
    receipt = await member.wait_for(lambda: member.received["dm:read"], what="read receipt")
    assert receipt[0]["conversationId"] == cid and receipt[0]["readerId"] == str(creator_u.user_id)
    assert receipt[0]["readAt"] and receipt[0]["marked"] == 1
    # REST keeps the history, with the same read state, from either process.
    async with http.get(
        f"{nodes[1]}/api/v1/conversations/{cid}/messages", headers=member_u.headers
    ) as res:
        history = (await res.json())["data"]
    assert [(m["id"], m["readState"]) for m in history] == [(sent["id"], "read")]

    # A message sent over REST is pushed over the socket as well.
    async with http.post(
        f"{nodes[1]}/api/v1/conversations/{cid}/messages",
        json={"text": "and over REST"},
        headers=creator_u.headers,
    ) as res:
        assert res.status == 201
    await member.wait_for(
        lambda: any(e["message"]["text"] == "and over REST" for e in member.received["dm:message"]),
        what="REST message pushed",
    )


async def test_refusals_answer_with_codes_and_write_nothing(nodes, connect, chat_server, http):
    member_u = await sign_in(chat_server, prefix="dmr", base_url=nodes[0])
    creator_u = await sign_in(chat_server, Role.CREATOR, prefix="dmr", base_url=nodes[0])
    viewer_u = await sign_in(chat_server, Role.VIEWER, prefix="dmr", base_url=nodes[0])
    cid = await _open(http, nodes[0], member_u, creator_u)
    member = await connect(member_u, base_url=nodes[1])
    viewer = await connect(viewer_u, base_url=nodes[0])
    anonymous = await connect(base_url=nodes[0])

    denied = await viewer.call("dm:send", {"conversationId": cid, "text": "hello"})
    assert denied["code"] == "FORBIDDEN"  # viewers cannot DM
    denied = await anonymous.call("dm:send", {"conversationId": cid, "text": "hello"})
    assert denied["code"] == "AUTH_REQUIRED"
    for bad in (
        {"conversationId": cid, "text": ""},
        {"conversationId": cid, "text": "x" * 2001},
        {"conversationId": "not-a-uuid", "text": "x"},
        {"conversationId": cid, "text": "x", "price": 0},
        "just a string",
    ):
        assert (await member.call("dm:send", bad))["code"] == "VALIDATION_ERROR", bad
    other = await member.call("dm:send", {"conversationId": str(uuid.uuid4()), "text": "x"})
    assert other["code"] == "CONVERSATION_NOT_FOUND"
    priced = await member.call("dm:send", {"conversationId": cid, "text": "pay", "price": 5})
    assert priced["code"] == "CANNOT_PRICE_MESSAGE"  # only creators sell messages

    # The recipient's banned words refuse the message.
    async with http.post(
        f"{nodes[0]}/api/v1/chat/banned-words",
        json={"word": "dmforbidden"},
        headers=creator_u.headers,
    ) as res:
        assert res.status == 201
    refused = await member.call("dm:send", {"conversationId": cid, "text": "so DMFORBIDDEN"})
    assert refused["code"] == "MESSAGE_BLOCKED"

    assert await _count(chat_server, cid) == 0

    # The rate limit (per account, attempts counted) is shared by both processes.
    talker_u = await sign_in(chat_server, prefix="dmr", base_url=nodes[0])
    talk = await _open(http, nodes[0], talker_u, creator_u)
    tabs = (await connect(talker_u, base_url=nodes[0]), await connect(talker_u, base_url=nodes[1]))
    for i in range(RATE_LIMIT):
        ack = await tabs[i % 2].call("dm:send", {"conversationId": talk, "text": f"m{i}"})
        assert ack["ok"], (i, ack)
    for tab in tabs:
        limited = await tab.call("dm:send", {"conversationId": talk, "text": "one more"})
        assert limited["code"] == "RATE_LIMITED" and limited["retryAfter"] > 0
    assert await _count(chat_server, talk) == RATE_LIMIT

    # Blocked: refused either way, typing too.
    async with http.post(
        f"{nodes[0]}/api/v1/users/{member_u.handle}/block", headers=creator_u.headers
    ) as res:
        assert res.status == 204
    creator = await connect(creator_u, base_url=nodes[1])
    assert (await creator.call("dm:send", {"conversationId": cid, "text": "x"}))["code"] == (
        "BLOCKED"
    )
    assert (await creator.call("dm:typing", {"conversationId": cid}))["code"] == "BLOCKED"
    assert (await member.call("dm:send", {"conversationId": cid, "text": "x"}))["code"] == (
        "BLOCKED"
    )
    assert await _count(chat_server, cid) == 0


async def test_a_signed_out_connection_gets_no_more_messages(nodes, connect, chat_server, http):
    member_u = await sign_in(chat_server, prefix="dmo", base_url=nodes[0])
    creator_u = await sign_in(chat_server, Role.CREATOR, prefix="dmo", base_url=nodes[0])
    cid = await _open(http, nodes[0], member_u, creator_u)
    member = await connect(member_u, base_url=nodes[1])
    creator = await connect(creator_u, base_url=nodes[0])
    creator_tab = await connect(creator_u, base_url=nodes[1])
    assert (await creator.call("dm:send", {"conversationId": cid, "text": "before"}))["ok"]
    await member.wait_for(lambda: member.received["dm:message"], what="first message")
    async with http.post(f"{nodes[0]}/api/v1/auth/logout", headers=member_u.headers) as res:
        assert res.status in (200, 204)
    await member.wait_for(lambda: member.received["dm:closed"], what="closed notice")
    assert (await creator.call("dm:send", {"conversationId": cid, "text": "after"}))["ok"]
    await creator_tab.wait_for(
        lambda: any(e["message"]["text"] == "after" for e in creator_tab.received["dm:message"]),
        what="the sender's other tab",
    )
    assert [e["message"]["text"] for e in member.received["dm:message"]] == ["before"]
    # and it cannot act as the member any more
    assert (await member.call("dm:send", {"conversationId": cid, "text": "x"}))["code"] == (
        "AUTH_REQUIRED"
    )
