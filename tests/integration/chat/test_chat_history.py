"""``GET /api/v1/streams/{id}/chat``: pages of persisted history, and the envelope on errors."""

from __future__ import annotations

import uuid

import pytest

from api.auth.rbac import Role

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_history_pages_back_in_time(connect, new_room, user, http, chat_server):
    room = await new_room()
    writer = await connect(await user())
    assert (await writer.join(room))["ok"]
    sent = [(await writer.send(room, f"line {i}"))["message"] for i in range(7)]
    url = f"{chat_server.base_url}/api/v1/streams/{room}/chat"

    pages, before = [], None
    while True:
        params = {"limit": "3", **({"before": before} if before else {})}
        async with http.get(url, params=params) as res:
            assert res.status == 200
            assert res.headers["Cache-Control"] == "no-store"
            body = await res.json()
        pages.append([m["text"] for m in body["data"]])
        before = body["nextCursor"]
        if before is None:
            break
    # newest page first, each page oldest first; together: every message exactly once
    assert pages == [["line 4", "line 5", "line 6"], ["line 1", "line 2", "line 3"], ["line 0"]]
    async with http.get(url) as res:
        body = await res.json()
    assert body["data"] == sent  # the stored message is the one broadcast
    assert body["nextCursor"] is None


async def test_history_errors_use_the_envelope(http, chat_server, new_room):
    room = await new_room()
    base = f"{chat_server.base_url}/api/v1/streams"
    cases = [
        (f"{base}/{uuid.uuid4()}/chat", {}, 404, "STREAM_NOT_FOUND"),
        (f"{base}/not-a-uuid/chat", {}, 404, "STREAM_NOT_FOUND"),
        (f"{base}/{room}/chat", {"limit": "0"}, 422, "VALIDATION_ERROR"),
        (f"{base}/{room}/chat", {"limit": "101"}, 422, "VALIDATION_ERROR"),
        (f"{base}/{room}/chat", {"before": "nope"}, 422, "VALIDATION_ERROR"),
        (f"{base}/{room}/chat", {"before": str(uuid.uuid4())}, 404, "MESSAGE_NOT_FOUND"),
        (f"{base}/{room}/chat", {"sort": "asc"}, 422, "VALIDATION_ERROR"),
    ]
    for url, params, status, code in cases:
        async with http.get(url, params=params) as res:
            body = await res.json()
        assert (res.status, body["code"]) == (status, code), (url, params, body)
        assert body["status"] == "error" and body["requestId"]


async def test_history_of_a_non_public_room_needs_access(
    http, chat_server, new_room, connect, user
):
    owner = await user(Role.CREATOR)
    room = await new_room(creator=owner, visibility="subscribers")
    client = await connect(owner)
    assert (await client.join(room))["ok"]
    assert (await client.send(room, "members only"))["ok"]
    url = f"{chat_server.base_url}/api/v1/streams/{room}/chat"
    async with http.get(url) as res:
        assert res.status == 401 and (await res.json())["code"] == "AUTH_REQUIRED"
    async with http.get(url, headers=(await user()).headers) as res:
        assert res.status == 403 and (await res.json())["code"] == "ROOM_FORBIDDEN"
    async with http.get(url, headers=owner.headers) as res:
        assert res.status == 200
        assert [m["text"] for m in (await res.json())["data"]] == ["members only"]


async def test_one_bad_row_fails_only_its_own_message(chat_server, new_room, user):
    """Group commit isolates a bad row: the batch falls back to one INSERT per message, so a
    message PostgreSQL refuses (a NUL that got past validation some other way) fails alone
    and every other message of its batch is stored."""
    import asyncio
    from datetime import UTC, datetime

    from api.chat.events import ChatMessage
    from api.chat.store import HistoryWriter, PostgresChatHistory

    room = uuid.UUID(await new_room())
    author = await user()

    class Recording(PostgresChatHistory):
        calls: list[int] = []

        async def append(self, messages):  # type: ignore[no-untyped-def]
            self.calls.append(len(messages))
            await super().append(messages)

    history = Recording(chat_server.pool)
    writer = HistoryWriter(history)
    writer.start()
    try:
        texts = [f"ok {i}" for i in range(12)]
        texts[5] = "bad\x00row"
        messages = [
            ChatMessage(uuid.uuid4(), room, author.user_id, author.handle, t, datetime.now(UTC))
            for t in texts
        ]
        results = await asyncio.gather(*(writer.write(m) for m in messages), return_exceptions=True)
    finally:
        await writer.close()
        await history.close()  # its connection back to the pool (the pool waits for it)
    assert history.calls[0] == 12  # they went out as one batch, which failed as a whole
    assert writer.fallbacks == 1 and history.calls[1:] == [1] * 12
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [5]
    stored = await chat_server.pool.fetchval(
        "SELECT count(*) FROM chat_messages WHERE stream_id = $1", room
    )
    assert stored == 11
