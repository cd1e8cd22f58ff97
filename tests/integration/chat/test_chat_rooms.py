"""Rooms over real Socket.IO connections: join rules, sending, typing, viewers and presence."""

from __future__ import annotations

import uuid

import pytest

from api.auth.rbac import Role
from api.chat import events
from api.chat.events import MAX_MESSAGE_LENGTH
from api.realtime import CHAT
from api.users.follows import follow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_message_reaches_everyone_in_the_room_and_nobody_else(connect, new_room, user):
    room, other_room = await new_room(), await new_room()
    alice, bob = await user(), await user()
    sender = await connect(alice)
    reader = await connect(bob)
    anonymous = await connect()
    elsewhere = await connect(await user())
    for client in (sender, reader, anonymous):
        assert (await client.join(room))["ok"] is True
    assert (await elsewhere.join(other_room))["ok"] is True

    ack = await sender.send(room, "  hello room  ")
    assert ack["ok"] is True
    message = ack["message"]
    assert message["text"] == "hello room"  # trimmed
    assert message["user"] == {"id": str(alice.user_id), "handle": alice.handle}
    assert message["streamId"] == room
    uuid.UUID(message["id"])

    for client in (sender, reader, anonymous):
        assert await client.wait_message("hello room") == message
    await elsewhere.send(other_room, "other room")
    await elsewhere.wait_message("other room")
    assert [m["text"] for m in reader.messages()] == ["hello room"]


async def test_anonymous_and_viewer_role_read_but_cannot_send(connect, new_room, user):
    room = await new_room()
    anonymous = await connect()
    viewer = await connect(await user(Role.VIEWER))
    for client in (anonymous, viewer):
        join = await client.join(room)
        assert join["ok"] is True and join["canSend"] is False
    denied = await anonymous.send(room, "hi")
    assert denied["ok"] is False and denied["code"] == "AUTH_REQUIRED"
    denied = await viewer.send(room, "hi")
    assert denied["ok"] is False and denied["code"] == "CHAT_FORBIDDEN"
    denied = await anonymous.call(events.TYPING, {"streamId": room})
    assert denied["code"] == "AUTH_REQUIRED"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"streamId": "not-a-uuid", "text": "x"}, "streamId"),
        ({"text": "x"}, "streamId"),
        ({"streamId": "{room}", "text": "   "}, "text"),
        ({"streamId": "{room}", "text": "x" * (MAX_MESSAGE_LENGTH + 1)}, "text"),
        ({"streamId": "{room}", "text": "x", "extra": 1}, "extra"),
        # what PostgreSQL text cannot hold is refused at validation (it broke whole batches)
        ({"streamId": "{room}", "text": "nul\x00byte"}, "text"),
        ({"streamId": "{room}", "text": "lone \ud800 surrogate"}, "text"),
        ("just a string", "payload"),
    ],
)
async def test_invalid_payloads_get_validation_errors(connect, new_room, user, payload, field):
    room = await new_room()
    client = await connect(await user())
    assert (await client.join(room))["ok"]
    if isinstance(payload, dict):
        payload = {
            k: v.replace("{room}", room) if isinstance(v, str) else v for k, v in payload.items()
        }
    ack = await client.call(events.SEND, payload)
    assert ack["ok"] is False and ack["code"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in ack["meta"]["errors"]]
    # the connection is still usable afterwards
    assert (await client.send(room, "fine"))["ok"] is True


async def test_send_needs_a_joined_room_and_join_an_existing_stream(connect, new_room, user):
    room = await new_room()
    client = await connect(await user())
    ack = await client.send(room, "too early")
    assert ack["ok"] is False and ack["code"] == "NOT_IN_ROOM"
    ack = await client.join(str(uuid.uuid4()))
    assert ack["ok"] is False and ack["code"] == "STREAM_NOT_FOUND"
    assert (await client.join(room))["ok"]
    assert (await client.call(events.LEAVE, {"streamId": room}))["ok"]
    ack = await client.send(room, "after leaving")
    assert ack["code"] == "NOT_IN_ROOM"


async def test_non_public_rooms(connect, new_room, user, chat_server):
    creator = await user(Role.CREATOR)
    fan, stranger = await user(), await user()
    moderator = await user(Role.MODERATOR)
    followers = await new_room(creator=creator, visibility="followers")
    subscribers = await new_room(creator=creator, visibility="subscribers")
    await follow(chat_server.pool, fan.user_id, creator.user_id)
    anonymous = await connect()
    ack = await anonymous.join(followers)
    assert ack["ok"] is False and ack["code"] == "AUTH_REQUIRED"
    ack = await (await connect(stranger)).join(followers)
    assert ack["ok"] is False and ack["code"] == "ROOM_FORBIDDEN"
    assert ack["meta"] == {"visibility": "followers"}
    for p in (creator, moderator):
        client = await connect(p)
        assert (await client.join(followers))["ok"], p.handle
        assert (await client.join(subscribers))["ok"], p.handle
    fan_client = await connect(fan)
    assert (await fan_client.join(followers))["ok"]  # a real follow, through the accounts half
    ack = await fan_client.join(subscribers)
    assert ack["ok"] is False and ack["code"] == "ROOM_FORBIDDEN"


async def test_typing_notices_reach_the_others_at_most_once_per_interval(connect, new_room, user):
    room = await new_room()
    typist_p = await user()
    typist, watcher = await connect(typist_p), await connect(await user())
    for client in (typist, watcher):
        assert (await client.join(room))["ok"]
    first = await typist.call(events.TYPING, {"streamId": room})
    second = await typist.call(events.TYPING, {"streamId": room})
    assert first == {"ok": True, "sent": True}
    assert second == {"ok": True, "sent": False}
    notice = await watcher.wait_for(lambda: watcher.received[events.TYPING_NOTICE], what="typing")
    assert notice == [
        {"streamId": room, "user": {"id": str(typist_p.user_id), "handle": typist_p.handle}}
    ]
    # the typist's own notice is not echoed back (sent before the message below)
    await typist.send(room, "done typing")
    await typist.wait_message("done typing")
    assert typist.received[events.TYPING_NOTICE] == []


async def test_viewer_count_and_presence(connect, new_room, user):
    room = await new_room()
    ann, ben = await user(), await user()
    a = await connect(ann)
    b = await connect(ben)
    b2 = await connect(ben)  # a second tab: two viewers, one user
    anonymous = await connect()
    for client in (a, b, b2, anonymous):
        assert (await client.join(room))["ok"]

    def latest_count():
        counts = [e["count"] for e in a.received[events.VIEWERS] if e["streamId"] == room]
        return counts[-1] if counts else None

    await a.wait_for(lambda: latest_count() == 4, what="4 viewers")
    listed = await a.call(events.PRESENCE, {"streamId": room})
    assert listed["ok"] and listed["count"] == 4
    assert sorted(u["handle"] for u in listed["users"]) == sorted([ann.handle, ben.handle])

    await anonymous.close()
    await b2.call(events.LEAVE, {"streamId": room})
    await a.wait_for(lambda: latest_count() == 2, what="2 viewers")
    listed = await a.call(events.PRESENCE, {"streamId": room})
    assert listed["count"] == 2
    assert sorted(u["handle"] for u in listed["users"]) == sorted([ann.handle, ben.handle])


async def test_signing_out_stops_an_open_connection_from_sending(
    connect, new_room, user, chat, chat_server, http
):
    room = await new_room()
    member = await user()
    client = await connect(member)
    assert (await client.join(room))["ok"]
    assert (await client.send(room, "still signed in"))["ok"]
    async with http.post(
        f"{chat_server.base_url}/api/v1/auth/logout", headers=member.headers
    ) as res:
        assert res.status == 204
    original = chat.session_recheck
    chat.session_recheck = 0  # re-read the session on every request (the default is 60 s)
    try:
        ack = await client.send(room, "after signing out")
        assert ack["ok"] is False and ack["code"] == "AUTH_REQUIRED"
    finally:
        chat.session_recheck = original
    await client.wait_message("still signed in")  # still reading the public room


async def test_the_money_channel_reaches_the_room(connect, new_room, user, chat_server):
    """Tips and goal events of the wallet (published once on the stream's money channel) reach
    every member of the room, and only while the room has members here."""
    from api.keys import PUBSUB
    from api.wallet.events import MoneyEvents, money_channel

    room, other_room = await new_room(), await new_room()
    viewers = [await connect(), await connect(await user())]
    elsewhere = await connect()
    for client in viewers:
        assert (await client.join(room))["ok"]
    assert (await elsewhere.join(other_room))["ok"]
    money = MoneyEvents(chat_server.pool, chat_server.app[PUBSUB])
    tip = {"streamId": room, "tipId": "t1", "amount": 25, "message": "great show"}
    await money.tipped(tip, tipper="fan_1")
    for client in viewers:
        got = await client.wait_for(lambda c=client: c.received["money:tip"], what="tip")
        assert got == [
            {
                "streamId": room,
                "type": "tip",
                "tipId": "t1",
                "amount": 25,
                "from": "fan_1",
                "message": "great show",
                "menuItem": None,
                "goalId": None,
            }
        ]
    assert elsewhere.received["money:tip"] == []
    # the relay stops when the room's last member here leaves
    for client in viewers:
        await client.call(events.LEAVE, {"streamId": room})
    chat = chat_server.app[CHAT]
    assert uuid.UUID(room) not in chat._relays
    await chat_server.app[PUBSUB].publish(money_channel(room), {"type": "tip", "amount": 1})
    assert (await elsewhere.join(room))["ok"]  # a fresh relay, after the publish above
    await chat_server.app[PUBSUB].publish(money_channel(room), {"type": "tip", "amount": 2})
    got = await elsewhere.wait_for(lambda: elsewhere.received["money:tip"], what="tip")
    assert [m["amount"] for m in got] == [2]
