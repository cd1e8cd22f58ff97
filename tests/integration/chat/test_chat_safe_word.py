"""The safe word over Socket.IO on a real live stream: a performer's ``safe_word`` event freezes
the broadcast (the encoder is on the slate) and the room's chat; the creator's confirmed resume
reopens both. Who may not use it is refused, as by the REST route."""

from __future__ import annotations

import aiohttp
import pytest

from api.auth.rbac import Role
from api.chat import events
from api.streams import store
from tests.chatauth import ChatUser, sign_in
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_safe_word_over_socketio_freezes_stream_and_chat(server, connect, account, ready):
    performer = await account(Role.CREATOR)
    creator = ChatUser(performer.id, performer.handle, performer.cookie())
    member = await sign_in(server, prefix="sw")
    stranger = await sign_in(server, Role.CREATOR, prefix="sw")
    row, token = await store.create_stream(
        server.pool, title="Safe word", creator_handle=creator.handle, creator_id=creator.user_id
    )
    sid = str(row.id)
    await ready(sid, performer)  # verified through the review API and checked in
    base = server.base_url
    host = await connect(creator, base_url=base)
    viewer = await connect(member, base_url=base)
    other = await connect(stranger, base_url=base)
    anonymous = await connect(base_url=base)
    for client in (host, viewer):
        assert (await client.join(sid))["ok"]

    ack = await host.call(events.SAFE_WORD, {"streamId": sid})
    assert ack["ok"] is False and ack["code"] == "STREAM_NOT_LIVE"

    async with aiohttp.ClientSession() as http:
        pub = await publish(http, base, sid, token)
        try:
            for client, code in (
                (other, "NOT_A_PERFORMER"),
                (viewer, "NOT_A_PERFORMER"),
                (anonymous, "NOT_A_PERFORMER"),
            ):
                ack = await client.call(events.SAFE_WORD, {"streamId": sid})
                assert ack["ok"] is False and ack["code"] == code, ack
            bad = await host.call(events.SAFE_WORD, {"streamId": "nope"})
            assert bad["code"] == "VALIDATION_ERROR"
            pipeline = server.broadcasts[sid].pipeline
            assert pipeline.frozen_reason is None

            ack = await host.call(events.SAFE_WORD, {"streamId": sid})
            assert ack["ok"] is True, ack
            assert ack["frozen"] is True and ack["alreadyFrozen"] is False
            assert ack["appliedMs"] is not None
            assert pipeline.frozen_reason == "safe word"  # on the slate when the ack came
            for client in (host, viewer):
                frozen = await client.wait_for(
                    lambda c=client: c.received[events.FROZEN], what="chat:frozen"
                )
                assert frozen == [{"streamId": sid, "frozen": True, "reason": "safe word"}]
            refused = await viewer.send(sid, "are you ok?")
            assert refused["ok"] is False and refused["code"] == "CHAT_FROZEN"
            assert (await host.send(sid, "taking a break"))["ok"]  # the creator moderates
            again = await host.call(events.SAFE_WORD, {"streamId": sid})
            assert again["ok"] and again["alreadyFrozen"] is True
            # a later joiner finds the room frozen
            late = await connect(await sign_in(server, prefix="sw"), base_url=base)
            assert (await late.join(sid))["frozen"] is True
            audited = await server.pool.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'safety.safe_word' AND target = $1",
                f"stream:{sid}",
            )
            assert audited == 2

            # resuming takes the creator's explicit confirmation (the studio's resume form)
            async with http.post(
                f"{base}/api/v1/streams/{sid}/resume",
                json={"confirm": True},
                headers=creator.headers,
            ) as res:
                assert res.status == 200, await res.text()
            assert pipeline.frozen_reason is None
            await viewer.wait_for(lambda: len(viewer.received[events.FROZEN]) == 2, what="reopen")
            assert viewer.received[events.FROZEN][1]["frozen"] is False
            assert (await viewer.send(sid, "welcome back"))["ok"]
        finally:
            await pub.delete(http, base)
