"""Chat safety over real Socket.IO connections and HTTP: the creator's banned words (with
evasions), the profanity classifier (block, hold, mask), held messages approved or removed,
delay mode, removal of delivered messages (also by a report's ``remove``), and the chat freeze
that follows the stream's safety channel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.auth.rbac import Role
from api.chat import events
from api.keys import PUBSUB
from ingest.safety import safety_channel

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def rest(http, server, method: str, path: str, who=None, **kw: Any) -> tuple[int, Any]:
    headers = dict(who.headers) if who is not None else {}
    async with http.request(method, server.base_url + path, headers=headers, **kw) as res:
        body = await res.json(content_type=None) if res.status != 204 else None
        return res.status, body


async def creator_room(new_room, connect, user, *others):
    """A new creator's room: the creator's client, then one joined client per user."""
    creator = await user(Role.CREATOR)
    room = await new_room(creator=creator)
    clients = [await connect(creator)] + [await connect(u) for u in others]
    for client in clients:
        assert (await client.join(room))["ok"]
    return creator, room, clients


async def sentinel(host, watchers, room: str, text: str) -> None:
    """The host (exempt from review) says ``text`` and every watcher sees it: whatever was
    delivered before it has been delivered by now."""
    assert (await host.send(room, text))["ok"]
    for w in watchers:
        await w.wait_message(text)


async def test_banned_words_with_evasions(http, chat_server, connect, new_room, user):
    member = await user()
    creator, room, (host, chatty, watcher) = await creator_room(
        new_room, connect, user, member, await user()
    )
    words = "/api/v1/chat/banned-words"
    status, body = await rest(http, chat_server, "POST", words, creator, json={"word": "Badword"})
    assert status == 201 and body["data"]["normalized"] == "badword", body
    word_id = body["data"]["id"]
    status, body = await rest(http, chat_server, "POST", words, creator, json={"word": "B4DW0RD"})
    assert (status, body["code"]) == (409, "BANNED_WORD_EXISTS")
    status, body = await rest(http, chat_server, "POST", words, creator, json={"word": " -.- "})
    assert (status, body["code"]) == (422, "INVALID_BANNED_WORD")
    status, body = await rest(http, chat_server, "POST", words, creator, json={"word": "creep"})
    assert status == 201
    status, body = await rest(http, chat_server, "POST", words, member, json={"word": "x"})
    assert (status, body["code"]) == (403, "FORBIDDEN")
    status, body = await rest(http, chat_server, "GET", words + "?limit=1", creator)
    assert status == 200 and [w["word"] for w in body["data"]] == ["Badword"]
    status, body = await rest(
        http, chat_server, "GET", f"{words}?limit=1&after={body['nextCursor']}", creator
    )
    assert [w["word"] for w in body["data"]] == ["creep"]

    # default action: block, whatever the spelling
    for evasion in (
        "you are a BADWORD",
        "b a d w o r d",
        "b.a.d.w.o.r.d!",
        "baaaadwooord",
        "b4dw0rd",
        "B@DWORDS",
        "bad\u200bword",
        "bädwörd",
        "such a cr33p",
    ):
        ack = await chatty.send(room, evasion)
        assert ack["ok"] is False and ack["code"] == "MESSAGE_BLOCKED", (evasion, ack)
        assert ack["meta"]["reasons"] == ["banned_word"]
    for fine in ("nice badge", "a creeper vine", "bad weather, good words"):
        assert (await chatty.send(room, fine))["ok"], fine
    # the room's creator is not filtered in their own room
    assert (await host.send(room, "badword, said the host"))["ok"]

    # mask: delivered with the word starred; nobody receives the original
    status, body = await rest(
        http,
        chat_server,
        "PATCH",
        "/api/v1/chat/safety",
        creator,
        json={"bannedWordAction": "mask"},
    )
    assert status == 200 and body["data"]["bannedWordAction"] == "mask"
    ack = await chatty.send(room, "what a B4DW0RD here")
    assert ack["ok"] and ack["masked"] is True
    assert ack["message"]["text"] == "what a ******* here"
    seen = await watcher.wait_message("what a ******* here")
    assert seen["id"] == ack["message"]["id"]
    assert not [m for m in watcher.messages() if "B4DW0RD" in m["text"]]

    # allowed again once removed from the list (every node reloads the creator's words)
    status, _ = await rest(http, chat_server, "DELETE", f"{words}/{word_id}", creator)
    assert status == 204
    status, body = await rest(http, chat_server, "DELETE", f"{words}/{word_id}", creator)
    assert (status, body["code"]) == (404, "BANNED_WORD_NOT_FOUND")
    ack = await chatty.send(room, "badword is fine now")
    assert ack["ok"] and ack["message"]["text"] == "badword is fine now"


async def test_profanity_filter_blocks_holds_and_masks(http, chat_server, connect, new_room, user):
    creator, room, (host, chatty, watcher) = await creator_room(
        new_room, connect, user, await user(), await user()
    )
    safety = "/api/v1/chat/safety"
    status, body = await rest(http, chat_server, "GET", safety, creator)
    assert status == 200 and body["data"]["profanityAction"] == "off"
    assert (await chatty.send(room, "what the fuck is this"))["ok"]  # off: anything goes

    status, body = await rest(
        http, chat_server, "PATCH", safety, creator, json={"profanityAction": "block"}
    )
    assert status == 200 and body["data"]["profanityAction"] == "block"
    # the first scored message may wait for the model to load (seconds on a busy machine)
    ack = await chatty.call(
        events.SEND, {"streamId": room, "text": "you are a fucking idiot"}, timeout=60
    )
    assert ack["ok"] is False and ack["code"] == "MESSAGE_BLOCKED"
    assert ack["meta"]["reasons"] == ["profanity"]
    ack = await chatty.send(room, "sh1t")  # the de-leeted form is scored too
    assert ack["code"] == "MESSAGE_BLOCKED"
    assert (await chatty.send(room, "have a lovely evening everyone"))["ok"]

    await rest(http, chat_server, "PATCH", safety, creator, json={"profanityAction": "mask"})
    ack = await chatty.send(room, "what the fuck is this")
    assert ack["ok"] and ack["message"]["text"] == "what the **** is this"
    await watcher.wait_message("what the **** is this")

    await rest(http, chat_server, "PATCH", safety, creator, json={"profanityAction": "hold"})
    ack = await chatty.send(room, "fuck this stream")
    assert ack["ok"] and ack["held"] is True and ack["releaseAt"] is None
    held = await host.wait_for(lambda: host.received[events.HELD], what="held notice")
    assert held[0]["message"]["id"] == ack["message"]["id"]
    assert held[0]["reasons"] == ["profanity"]
    await sentinel(host, [watcher], room, "after the held one")
    assert "fuck this stream" not in [m["text"] for m in watcher.messages()]
    assert not watcher.received[events.HELD]  # only moderators hear of held messages

    status, body = await rest(
        http, chat_server, "PATCH", safety, creator, json={"profanityThreshold": 2}
    )
    assert (status, body["code"]) == (422, "VALIDATION_ERROR")


async def test_held_messages_approved_or_removed(http, chat_server, connect, new_room, user):
    member = await user()
    creator, room, (host, chatty, watcher) = await creator_room(
        new_room, connect, user, member, await user()
    )
    status, body = await rest(
        http, chat_server, "PATCH", "/api/v1/chat/safety", creator, json={"reviewMode": "hold"}
    )
    assert body["data"]["reviewMode"] == "hold"
    keep = await chatty.send(room, "please approve me")
    drop = await chatty.send(room, "please remove me")
    rest_drop = await chatty.send(room, "removed over REST")
    for ack in (keep, drop, rest_drop):
        assert ack["ok"] and ack["held"] is True and ack["releaseAt"] is None
    await host.wait_for(lambda: len(host.received[events.HELD]) == 3, what="3 held notices")

    review = await host.call(events.REVIEW, {"streamId": room})
    assert [m["text"] for m in review["messages"]] == [
        "please approve me",
        "please remove me",
        "removed over REST",
    ]
    denied = await chatty.call(events.REVIEW, {"streamId": room})
    assert denied["code"] == "MODERATION_FORBIDDEN"
    denied = await chatty.call(
        events.APPROVE, {"streamId": room, "messageId": keep["message"]["id"]}
    )
    assert denied["code"] == "MODERATION_FORBIDDEN"
    status, body = await rest(http, chat_server, "GET", f"/api/v1/streams/{room}/chat/held", member)
    assert (status, body["code"]) == (403, "MODERATION_FORBIDDEN")

    ok = await host.call(events.APPROVE, {"streamId": room, "messageId": keep["message"]["id"]})
    assert ok["ok"] and ok["message"]["id"] == keep["message"]["id"]
    await watcher.wait_message("please approve me")
    gone = await host.call(events.REMOVE, {"streamId": room, "messageId": drop["message"]["id"]})
    assert gone == {
        "ok": True,
        "streamId": room,
        "messageId": drop["message"]["id"],
        "wasHeld": True,
    }
    again = await host.call(events.APPROVE, {"streamId": room, "messageId": drop["message"]["id"]})
    assert again["code"] == "MESSAGE_NOT_HELD"
    path = f"/api/v1/streams/{room}/chat/messages/{rest_drop['message']['id']}"
    status, body = await rest(http, chat_server, "DELETE", path, creator)
    assert status == 200 and body["data"]["wasHeld"] is True
    status, body = await rest(http, chat_server, "POST", path + "/approve", creator)
    assert (status, body["code"]) == (409, "MESSAGE_NOT_HELD")

    released = await host.wait_for(
        lambda: len(host.received[events.RELEASED]) == 3 and host.received[events.RELEASED],
        what="3 released notices",
    )
    assert {(r["messageId"], r["removed"]) for r in released} == {
        (keep["message"]["id"], False),
        (drop["message"]["id"], True),
        (rest_drop["message"]["id"], True),
    }
    await sentinel(host, [watcher, chatty], room, "the host speaks")
    texts = [m["text"] for m in watcher.messages()]
    assert "please remove me" not in texts and "removed over REST" not in texts
    assert not watcher.received[events.REMOVED]  # nothing delivered was removed
    status, body = await rest(
        http, chat_server, "GET", f"/api/v1/streams/{room}/chat/held", creator
    )
    assert status == 200 and body["data"] == []
    status, body = await rest(http, chat_server, "GET", f"/api/v1/streams/{room}/chat")
    assert [m["text"] for m in body["data"]] == ["please approve me", "the host speaks"]


async def test_a_room_review_mode_overrides_the_creators(connect, new_room, user):
    """A room's moderators hold one stream's chat (chat:mode) while the creator's default is
    off, then hand it back to the creator's setting."""
    _, room, (host, chatty, watcher) = await creator_room(
        new_room, connect, user, await user(), await user()
    )
    denied = await chatty.call(events.MODE, {"streamId": room, "reviewMode": "hold"})
    assert denied["code"] == "MODERATION_FORBIDDEN"
    ack = await host.call(events.MODE, {"streamId": room, "reviewMode": "hold"})
    assert ack["ok"] and ack["reviewMode"] == "hold" and ack["slowMode"] == 0
    await watcher.wait_for(lambda: watcher.received[events.SETTINGS], what="settings")
    held = await chatty.send(room, "held by the room's mode")
    assert held["held"] is True
    late = await connect(await user())
    assert (await late.join(room))["reviewMode"] == "hold"
    ack = await host.call(events.MODE, {"streamId": room, "reviewMode": "default"})
    assert ack["reviewMode"] is None
    delivered = await chatty.send(room, "straight through again")
    assert delivered["ok"] and "held" not in delivered
    await watcher.wait_message("straight through again")
    assert "held by the room's mode" not in [m["text"] for m in watcher.messages()]
    bad = await host.call(events.MODE, {"streamId": room, "reviewMode": "sometimes"})
    assert bad["code"] == "VALIDATION_ERROR"


async def test_delay_mode_delivers_unless_removed(http, chat_server, connect, new_room, user):
    creator, room, (host, chatty, watcher) = await creator_room(
        new_room, connect, user, await user(), await user()
    )
    await rest(
        http,
        chat_server,
        "PATCH",
        "/api/v1/chat/safety",
        creator,
        json={"reviewMode": "delay", "delaySeconds": 2},
    )
    later = await chatty.send(room, "in two seconds")
    doomed = await chatty.send(room, "never seen")
    assert later["held"] is True and later["releaseAt"] is not None
    assert "in two seconds" not in [m["text"] for m in watcher.messages()]  # still in its delay
    gone = await host.call(events.REMOVE, {"streamId": room, "messageId": doomed["message"]["id"]})
    assert gone["ok"] and gone["wasHeld"] is True
    await watcher.wait_message("in two seconds")
    await host.wait_for(
        lambda: any(not r["removed"] for r in host.received[events.RELEASED]), what="release"
    )
    await sentinel(host, [watcher], room, "after the delay")
    assert "never seen" not in [m["text"] for m in watcher.messages()]


async def test_a_delayed_message_outlives_its_process(chat, connect, new_room, user):
    """A delayed message whose process died before its delay ended (stored held, timer gone)
    is released by any process's sweep, once; a removed or moderator-held one is not."""
    creator, room, (host, watcher) = await creator_room(new_room, connect, user, await user())
    author = await user()
    now = datetime.now(UTC)
    orphan, removed, waiting = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await chat.pool.executemany(
        "INSERT INTO chat_messages (id, stream_id, user_id, handle, body, sent_at, held, "
        "release_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8)",
        [
            (
                orphan,
                uuid.UUID(room),
                author.user_id,
                author.handle,
                "orphaned",
                now,
                now - timedelta(minutes=1),
                None,
            ),
            (
                removed,
                uuid.UUID(room),
                author.user_id,
                author.handle,
                "removed",
                now,
                now - timedelta(minutes=1),
                now,
            ),
            (
                waiting,
                uuid.UUID(room),
                author.user_id,
                author.handle,
                "for a moderator",
                now,
                None,
                None,
            ),
        ],
    )
    await chat.release_overdue(grace=5)  # (the background sweep may have been first)
    await watcher.wait_message("orphaned")
    assert await chat.release_overdue(grace=5) == 0  # nothing left to release
    await sentinel(host, [watcher], room, "after the sweep")
    texts = [m["text"] for m in watcher.messages()]
    assert texts.count("orphaned") == 1
    assert "removed" not in texts and "for a moderator" not in texts


async def test_removal_reaches_everyone_and_reports_remove_messages(
    http, chat_server, connect, new_room, user
):
    author = await user()
    _, room, (host, chatty, watcher) = await creator_room(
        new_room, connect, user, author, await user()
    )
    reported = (await chatty.send(room, "report me"))["message"]
    removed_by_mod = (await chatty.send(room, "remove me"))["message"]
    await watcher.wait_message("remove me")
    ack = await host.call(events.REMOVE, {"streamId": room, "messageId": removed_by_mod["id"]})
    assert ack["ok"] and ack["wasHeld"] is False

    reporter = await user()
    status, body = await rest(
        http,
        chat_server,
        "POST",
        "/api/v1/reports",
        reporter,
        json={"targetType": "message", "targetId": reported["id"], "reason": "harassment"},
    )
    assert status == 201 and body["data"]["subjectId"] == str(author.user_id)
    moderator = await user(Role.MODERATOR)
    status, body = await rest(
        http,
        chat_server,
        "POST",
        f"/api/v1/moderation/reports/{body['data']['id']}/actions",
        moderator,
        json={"action": "remove"},
    )
    assert status == 200, body
    for client in (watcher, chatty, host):
        notices = await client.wait_for(
            lambda c=client: len(c.received[events.REMOVED]) == 2 and c.received[events.REMOVED],
            what="2 removals",
        )
        assert [n["messageId"] for n in notices] == [removed_by_mod["id"], reported["id"]]
    status, body = await rest(http, chat_server, "GET", f"/api/v1/streams/{room}/chat")
    assert body["data"] == []
    logged = await chat_server.pool.fetchval(
        "SELECT actor_id FROM chat_moderation_log WHERE message_id = $1 AND action = 'remove'",
        uuid.UUID(reported["id"]),
    )
    assert logged == moderator.user_id


async def test_frozen_stream_freezes_chat_until_unfrozen(chat_server, connect, new_room, user):
    creator, room, (host, chatty) = await creator_room(new_room, connect, user, await user())
    pubsub = chat_server.app[PUBSUB]
    await pubsub.publish(
        safety_channel(room), {"event": "frozen", "reason": "safe word", "by": None, "at": "now"}
    )
    for client in (host, chatty):
        notice = await client.wait_for(lambda c=client: c.received[events.FROZEN], what="frozen")
        assert notice == [{"streamId": room, "frozen": True, "reason": "safe word"}]
    ack = await chatty.send(room, "hello?")
    assert ack["ok"] is False and ack["code"] == "CHAT_FROZEN"
    assert ack["meta"]["reason"] == "safe word"
    assert (await host.send(room, "we are paused, back soon"))["ok"]  # moderators may speak
    await chatty.wait_message("we are paused, back soon")

    await pubsub.publish(safety_channel(room), {"event": "unfrozen", "by": None, "at": "now"})
    await chatty.wait_for(lambda: len(chatty.received[events.FROZEN]) == 2, what="unfrozen")
    assert chatty.received[events.FROZEN][1] == {"streamId": room, "frozen": False, "reason": None}
    assert (await chatty.send(room, "welcome back"))["ok"]
