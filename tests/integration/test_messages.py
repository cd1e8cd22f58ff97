"""Direct messages over HTTP: conversations between two accounts on two API processes sharing
the database, read receipts, the dm.send permission, blocks, the recipient's filter, and the
envelope for bad input (nothing half-written)."""

from __future__ import annotations

import uuid

import pytest

from api.auth.rbac import Role
from tests.accounts import Account
from tests.conftest import free_port
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_messages_cross_nodes_with_read_receipts(server, account, pg_dsn, tmp_path):
    member = await account(Role.MEMBER)
    creator = await account(Role.CREATOR)
    r = await member.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    assert r.status == 200, r.body
    conv = r.data
    assert conv["otherHandle"] == creator.handle and conv["unread"] == 0
    # Opening it again (from either side) is the same conversation.
    again = await creator.call("POST", "/api/v1/conversations", json={"handle": member.handle})
    assert again.data["id"] == conv["id"]
    cid = conv["id"]
    base = f"/api/v1/conversations/{cid}/messages"
    r = await member.call("POST", base, json={"text": "hello there"})
    assert r.status == 201, r.body
    sent = r.data
    assert sent["mine"] and sent["readState"] == "sent" and sent["readAt"] is None

    # The creator reads it through a second API process on the same database.
    async with extra_server(
        pg_dsn,
        tmp_path,
        free_port(),
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
    ) as (other_base, _):
        there = Account(other_base, id=creator.id, handle=creator.handle, email=creator.email)
        try:
            assert (await there.login()).status == 200
            r = await there.call("GET", "/api/v1/conversations")
            mine = next(c for c in r.data if c["id"] == cid)
            assert mine["unread"] == 1 and mine["lastText"] == "hello there"
            r = await there.call("GET", base)
            assert [m["text"] for m in r.data] == ["hello there"] and not r.data[0]["mine"]
            r = await there.call("POST", f"/api/v1/conversations/{cid}/read")
            assert r.data["marked"] == 1
            r = await there.call("POST", base, json={"text": "hi back"})
            assert r.status == 201
        finally:
            await there.close()
    # The sender sees the read receipt; the reply is unread for them.
    r = await member.call("GET", base)
    by_text = {m["text"]: m for m in r.data}
    assert by_text["hello there"]["readState"] == "read" and by_text["hello there"]["readAt"]
    assert [m["text"] for m in r.data] == ["hi back", "hello there"]  # newest first
    r = await member.call("GET", "/api/v1/conversations")
    assert next(c for c in r.data if c["id"] == cid)["unread"] == 1
    # History pages with a keyset cursor.
    r = await member.call("GET", base, params={"limit": "1"})
    assert [m["text"] for m in r.data] == ["hi back"]
    r = await member.call("GET", base, params={"limit": "1", "cursor": r.body["nextCursor"]})
    assert [m["text"] for m in r.data] == ["hello there"]


async def test_who_may_message_whom(server, account, client):
    member = await account(Role.MEMBER)
    creator = await account(Role.CREATOR)
    viewer = await account(Role.VIEWER)
    outsider = await account(Role.MEMBER)
    r = await client.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    r = await viewer.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    assert (r.status, r.code) == (403, "FORBIDDEN")  # viewers cannot DM
    r = await member.call("POST", "/api/v1/conversations", json={"handle": member.handle})
    assert (r.status, r.code) == (422, "CANNOT_MESSAGE_SELF")
    r = await member.call("POST", "/api/v1/conversations", json={"handle": "nobody_at_all"})
    assert (r.status, r.code) == (404, "USER_NOT_FOUND")
    cid = (
        await member.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    ).data["id"]
    base = f"/api/v1/conversations/{cid}/messages"
    # Outsiders do not learn the conversation exists.
    for method, path, kw in (
        ("GET", base, {}),
        ("POST", base, {"json": {"text": "x"}}),
        ("POST", f"/api/v1/conversations/{cid}/read", {}),
    ):
        r = await outsider.call(method, path, **kw)
        assert (r.status, r.code) == (404, "CONVERSATION_NOT_FOUND"), (path, r.body)
    r = await member.call("GET", f"/api/v1/conversations/{uuid.uuid4()}/messages")
    assert (r.status, r.code) == (404, "CONVERSATION_NOT_FOUND")
    r = await member.call("POST", base, json={"text": "x" * 2001})
    assert (r.status, r.code) == (422, "VALIDATION_ERROR")
    r = await member.call("POST", base, json={"text": ""})
    assert (r.status, r.code) == (422, "VALIDATION_ERROR")

    # The recipient's banned words: refused, nothing written.
    r = await creator.call("POST", "/api/v1/chat/banned-words", json={"word": "cheapskate"})
    assert r.status == 201
    r = await member.call("POST", base, json={"text": "what a CHEAPSKATE"})
    assert (r.status, r.code) == (422, "MESSAGE_BLOCKED")
    r = await creator.call("PATCH", "/api/v1/chat/safety", json={"bannedWordAction": "mask"})
    assert r.status == 200
    r = await member.call("POST", base, json={"text": "what a cheapskate"})
    assert r.status == 201 and r.data["masked"] and "cheapskate" not in r.data["text"]

    # Blocked: no new conversation, no message, either way round.
    assert (await creator.call("POST", f"/api/v1/users/{member.handle}/block")).status == 204
    r = await member.call("POST", base, json={"text": "hello?"})
    assert (r.status, r.code) == (403, "BLOCKED")
    r = await creator.call("POST", base, json={"text": "bye"})
    assert (r.status, r.code) == (403, "BLOCKED")
    r = await member.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    assert (r.status, r.code) == (403, "BLOCKED")
    count = await server.pool.fetchval(
        "SELECT count(*) FROM messages WHERE conversation_id = $1", uuid.UUID(cid)
    )
    assert count == 1  # only the masked one
