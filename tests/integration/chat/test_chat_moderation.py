"""Moderation over real Socket.IO connections: deletes, timeouts, bans, slow and followers-only
modes, and who may use them (MODERATE_ALL anywhere, MODERATE_OWN in one's own stream's room)."""

from __future__ import annotations

import uuid

import pytest

from api.auth.rbac import Role
from api.chat import events
from api.chat.ratelimit import LocalLimiter
from api.users.follows import follow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _room_with(new_room, connect, user, *others):
    """A room of a new creator; the creator's client first, then one per user in ``others``."""
    creator = await user(Role.CREATOR)
    room = await new_room(creator=creator)
    clients = [await connect(creator)] + [await connect(p) for p in others]
    for client in clients:
        assert (await client.join(room))["ok"]
    return room, clients


async def test_creator_deletes_in_own_room_and_everyone_sees_it(
    connect, new_room, user, http, chat_server
):
    member = await user()
    room, (host, chatty) = await _room_with(new_room, connect, user, member)
    first = (await chatty.send(room, "keep me"))["message"]
    doomed = (await chatty.send(room, "delete me"))["message"]
    await host.wait_message("delete me")

    # a member may not delete, nor the creator of another stream, nor anonymous
    other_creator = await connect(await user(Role.CREATOR))
    anonymous = await connect()
    for client, code in (
        (chatty, "MODERATION_FORBIDDEN"),
        (other_creator, "MODERATION_FORBIDDEN"),
        (anonymous, "AUTH_REQUIRED"),
    ):
        ack = await client.call(events.DELETE, {"streamId": room, "messageId": doomed["id"]})
        assert ack["ok"] is False and ack["code"] == code

    ack = await host.call(events.DELETE, {"streamId": room, "messageId": doomed["id"]})
    assert ack == {"ok": True, "streamId": room, "messageId": doomed["id"], "wasHeld": False}
    for client in (host, chatty):
        notices = await client.wait_for(lambda c=client: c.received[events.REMOVED], what="removed")
        assert notices == [{"streamId": room, "messageId": doomed["id"]}]
    again = await host.call(events.DELETE, {"streamId": room, "messageId": doomed["id"]})
    assert again["code"] == "MESSAGE_NOT_FOUND"

    async with http.get(f"{chat_server.base_url}/api/v1/streams/{room}/chat") as res:
        body = await res.json()
    assert [m["id"] for m in body["data"]] == [first["id"]]


async def test_site_moderator_acts_in_any_room(connect, new_room, user):
    member = await user()
    room, (_, somebody) = await _room_with(new_room, connect, user, member)
    moderator = await connect(await user(Role.MODERATOR))  # never joined the room
    message = (await somebody.send(room, "rude"))["message"]
    ack = await moderator.call(events.DELETE, {"streamId": room, "messageId": message["id"]})
    assert ack["ok"] is True
    ack = await moderator.call(
        events.TIMEOUT, {"streamId": room, "userId": str(member.user_id), "seconds": 30}
    )
    assert ack["ok"] is True and ack["kind"] == "timeout"


async def test_timeout_mutes_but_keeps_reading_and_survives_reconnect(connect, new_room, user):
    member = await user()
    room, (host, loud) = await _room_with(new_room, connect, user, member)
    ack = await host.call(
        events.TIMEOUT,
        {"streamId": room, "userId": str(member.user_id), "seconds": 600, "reason": "calm down"},
    )
    assert ack["ok"] is True and ack["until"]
    notice = await loud.wait_for(lambda: loud.received[events.RESTRICTED], what="restricted")
    assert notice[0]["kind"] == "timeout" and notice[0]["userId"] == str(member.user_id)

    denied = await loud.send(room, "still here")
    assert denied["ok"] is False and denied["code"] == "TIMED_OUT"
    assert 590 <= denied["retryAfter"] <= 600
    await host.send(room, "you can still read")
    await loud.wait_message("you can still read")

    await loud.close()  # reconnecting does not shed a timeout: it is in the database
    loud = await connect(member)
    join = await loud.join(room)
    assert join["ok"] is True and join["timedOutUntil"] == ack["until"]
    assert (await loud.send(room, "again"))["code"] == "TIMED_OUT"

    lifted = await host.call(events.UNBAN, {"streamId": room, "userId": str(member.user_id)})
    assert lifted == {"ok": True, "streamId": room, "userId": str(member.user_id), "lifted": 1}
    assert (await loud.send(room, "thanks"))["ok"] is True


async def test_ban_removes_from_the_room_and_holds_on_rejoin(connect, new_room, user):
    member = await user()
    bystander = await user()
    room, (host, troll, other) = await _room_with(new_room, connect, user, member, bystander)
    second_tab = await connect(member)
    assert (await second_tab.join(room))["ok"]

    ack = await host.call(events.BAN, {"streamId": room, "userId": str(member.user_id)})
    assert ack["ok"] is True and ack["kind"] == "ban" and ack["until"] is None
    for client in (troll, second_tab):
        banned = await client.wait_for(lambda c=client: c.received[events.BANNED], what="banned")
        assert banned == [{"streamId": room, "until": None, "reason": ""}]
    seen = await other.wait_for(lambda: other.received[events.RESTRICTED], what="restricted")
    assert seen[0]["kind"] == "ban"

    assert (await troll.send(room, "let me in"))["code"] == "NOT_IN_ROOM"
    await host.send(room, "after the ban")
    await other.wait_message("after the ban")
    assert "after the ban" not in [m["text"] for m in troll.messages()]
    rejoin = await troll.join(room)
    assert rejoin["ok"] is False and rejoin["code"] == "BANNED"

    await troll.close()
    troll = await connect(member)
    assert (await troll.join(room))["code"] == "BANNED"

    assert (await host.call(events.UNBAN, {"streamId": room, "userId": str(member.user_id)}))["ok"]
    assert (await troll.join(room))["ok"] is True


async def test_nobody_restricts_themselves_or_the_owner_and_payloads_are_checked(
    connect, new_room, user
):
    room, (host,) = await _room_with(new_room, connect, user)
    moderator = await user(Role.MODERATOR)
    mod = await connect(moderator)
    ack = await mod.call(events.BAN, {"streamId": room, "userId": str(moderator.user_id)})
    assert (ack["code"], ack["meta"]["reason"]) == ("RANK_FORBIDDEN", "self")
    ack = await host.call(events.BAN, {"streamId": room, "userId": str(moderator.user_id)})
    # a creator cannot ban a site moderator (the rank rule)
    assert (ack["code"], ack["meta"]["reason"]) == ("RANK_FORBIDDEN", "outranked")
    ack = await mod.call(events.BAN, {"streamId": room, "userId": str(uuid.uuid4())})
    assert ack["code"] == "USER_NOT_FOUND"
    ack = await mod.call(events.TIMEOUT, {"streamId": room, "userId": str(uuid.uuid4())})
    assert ack["code"] == "VALIDATION_ERROR"
    assert ack["meta"]["errors"][0]["field"] == "seconds"
    ack = await mod.call(
        events.TIMEOUT, {"streamId": room, "userId": str(uuid.uuid4()), "seconds": 0}
    )
    assert ack["code"] == "VALIDATION_ERROR"
    ack = await host.call(events.MODE, {"streamId": str(uuid.uuid4()), "slowMode": 5})
    assert ack["code"] == "STREAM_NOT_FOUND"


async def test_slow_mode(connect, new_room, user):
    member = await user()
    room, (host, quick) = await _room_with(new_room, connect, user, member)
    denied = await quick.call(events.MODE, {"streamId": room, "slowMode": 30})
    assert denied["code"] == "MODERATION_FORBIDDEN"
    ack = await host.call(events.MODE, {"streamId": room, "slowMode": 30})
    unchanged = {"reviewMode": None, "delaySeconds": None}  # the creator's review mode applies
    assert ack == {
        "ok": True,
        "streamId": room,
        "slowMode": 30,
        "followersOnly": False,
        **unchanged,
    }
    seen = await quick.wait_for(lambda: quick.received[events.SETTINGS], what="settings")
    assert seen == [{"streamId": room, "slowMode": 30, "followersOnly": False, **unchanged}]

    assert (await quick.send(room, "one"))["ok"] is True
    denied = await quick.send(room, "two")
    assert denied["ok"] is False and denied["code"] == "SLOW_MODE"
    assert 1 <= denied["retryAfter"] <= 30
    # the creator is exempt
    assert (await host.send(room, "a"))["ok"] and (await host.send(room, "b"))["ok"]
    # a later joiner learns the mode from the join ack
    late = await connect(await user())
    assert (await late.join(room))["settings"] == {
        "slowMode": 30,
        "followersOnly": False,
        **unchanged,
    }

    await host.call(events.MODE, {"streamId": room, "slowMode": 0})
    await quick.wait_for(lambda: len(quick.received[events.SETTINGS]) == 2, what="settings off")
    assert (await quick.send(room, "free again"))["ok"] is True


async def test_followers_only_mode(connect, new_room, user, chat_server):
    creator = await user(Role.CREATOR)
    fan, stranger = await user(), await user()
    room = await new_room(creator=creator)
    await follow(chat_server.pool, fan.user_id, creator.user_id)
    host = await connect(creator)
    assert (await host.join(room))["ok"]
    fan_c, stranger_c = await connect(fan), await connect(stranger)
    for client in (fan_c, stranger_c):
        assert (await client.join(room))["ok"]
    assert (await host.call(events.MODE, {"streamId": room, "followersOnly": True}))["ok"]
    denied = await stranger_c.send(room, "hi")
    assert denied["ok"] is False and denied["code"] == "FOLLOWERS_ONLY"
    assert (await fan_c.send(room, "hi"))["ok"] is True
    assert (await host.send(room, "welcome"))["ok"] is True
    await host.call(events.MODE, {"streamId": room, "followersOnly": False})
    await stranger_c.wait_for(
        lambda: len(stranger_c.received[events.SETTINGS]) == 2, what="mode off"
    )
    assert (await stranger_c.send(room, "hi now"))["ok"] is True


async def test_per_user_rate_limit(connect, new_room, user, chat, chat_server):
    member = await user()
    room, (_, spammer) = await _room_with(new_room, connect, user, member)
    clock = [1000.0]
    original = chat.limiter
    chat.limiter = LocalLimiter(clock=lambda: clock[0])
    limit = chat_server.settings.chat_rate_limit
    try:
        for i in range(limit):
            assert (await spammer.send(room, f"m{i}"))["ok"] is True, i
        denied = await spammer.send(room, "one too many")
        assert denied["ok"] is False and denied["code"] == "RATE_LIMITED"
        assert denied["retryAfter"] == chat_server.settings.chat_rate_window
        clock[0] += chat_server.settings.chat_rate_window
        assert (await spammer.send(room, "later"))["ok"] is True
    finally:
        chat.limiter = original
