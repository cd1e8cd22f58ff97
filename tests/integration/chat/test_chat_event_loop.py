"""No blocking call from our code runs on the event loop during a chat session (blockbuster)."""

from __future__ import annotations

import pytest
from blockbuster import blockbuster_ctx

from api.auth.rbac import Role
from api.chat import events

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUR_CODE = ["api", "teezu"]


async def test_chat_makes_no_blocking_calls_on_the_loop(connect, new_room, user, http, chat_server):
    creator, member = await user(Role.CREATOR), await user()
    room = await new_room(creator=creator)
    with blockbuster_ctx(OUR_CODE):
        host = await connect(creator)
        guest = await connect(member)
        for client in (host, guest):
            assert (await client.join(room))["ok"]
        message = (await guest.send(room, "hello"))["message"]
        await host.wait_message("hello")
        assert (await guest.call(events.TYPING, {"streamId": room}))["ok"]
        assert (await host.call(events.PRESENCE, {"streamId": room}))["count"] == 2
        ack = await host.call(events.DELETE, {"streamId": room, "messageId": message["id"]})
        assert ack["ok"]
        # chat safety: the classifier's scoring and the banned-word match (screening, masking)
        base = chat_server.base_url
        async with http.patch(
            f"{base}/api/v1/chat/safety",
            json={"profanityAction": "mask", "bannedWordAction": "mask"},
            headers=creator.headers,
        ) as res:
            assert res.status == 200
        async with http.post(
            f"{base}/api/v1/chat/banned-words", json={"word": "badword"}, headers=creator.headers
        ) as res:
            assert res.status == 201
        masked = await guest.call(  # may wait for the model to load: a long timeout
            events.SEND, {"streamId": room, "text": "what the fuck, b4dw0rd"}, timeout=60
        )
        assert masked["ok"] and masked["message"]["text"] == "what the ***** *******", masked
        assert (await host.call(events.MODE, {"streamId": room, "slowMode": 5}))["ok"]
        ack = await host.call(
            events.TIMEOUT, {"streamId": room, "userId": str(member.user_id), "seconds": 5}
        )
        assert ack["ok"]
        assert (await host.call(events.BAN, {"streamId": room, "userId": str(member.user_id)}))[
            "ok"
        ]
        await guest.wait_for(lambda: guest.received[events.BANNED], what="banned")
        async with http.get(f"{chat_server.base_url}/api/v1/streams/{room}/chat") as res:
            assert res.status == 200
        await guest.close()
