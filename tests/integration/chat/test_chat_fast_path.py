"""The room broadcast's fast path (`api.websocket_transport`) over real connections.

WebSocket clients get room emits written straight into their connection; long-polling clients
in the same room get them through Engine.IO's queue; either way each member sees the room's
messages in one order, every send is acknowledged, and a connection lost mid-broadcast costs
the others nothing.
"""

from __future__ import annotations

import asyncio

import pytest

from api.chat import events
from api.chat.rooms import room_name
from api.realtime import SOCKETIO

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_websocket_and_polling_members_see_the_same_order(
    connect, new_room, user, chat_server
):
    room = await new_room()
    alice, bob = await user(), await user()
    sender = await connect(alice)
    reader = await connect(bob)
    anonymous = await connect()
    polling = await connect(transports=("polling",))
    members = (sender, reader, anonymous, polling)
    for client in members:
        assert (await client.join(room))["ok"] is True
    eio = chat_server.app[SOCKETIO].eio
    assert polling.sio.eio.sid not in eio.websockets  # it never upgraded
    assert reader.sio.eio.sid in eio.websockets
    direct_before = eio.direct_writes

    # one after another: everyone sees them in the order they were sent
    # (two senders, each under the per-sender rate limit of 20 per 10 s)
    in_turn = [f"in turn {i}" for i in range(10)]
    acks = [await sender.send(room, text) for text in in_turn]
    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]]
    # all at once: the server decides the order, and every member sees that same order
    burst = [f"burst {i}" for i in range(20)]
    acks += await asyncio.gather(
        *((sender if i % 2 else reader).send(room, text) for i, text in enumerate(burst))
    )
    assert all(a["ok"] for a in acks), [a for a in acks if not a["ok"]]
    last = set(burst)

    def seen(client):
        return client.wait_for(
            lambda: last <= {m["text"] for m in client.messages()}, what="the whole burst"
        )

    for client in members:
        await seen(client)
    orders = [[m["id"] for m in client.messages()] for client in members]
    assert all(order == orders[0] for order in orders)
    assert [m["text"] for m in reader.messages()][:10] == in_turn
    # each ack carries the message exactly as the room got it
    by_id = {m["id"]: m for m in reader.messages()}
    assert [by_id[a["message"]["id"]] for a in acks] == [a["message"] for a in acks]
    assert len(by_id) == len(in_turn) + len(burst)
    assert eio.direct_writes > direct_before  # the WebSocket members took the fast path


async def test_a_connection_lost_mid_broadcast_costs_the_others_nothing(
    connect, new_room, user, chat_server
):
    room = await new_room()
    sender = await connect(await user())
    reader = await connect()
    polling = await connect(transports=("polling",))
    doomed = await connect()
    for client in (sender, reader, polling, doomed):
        assert (await client.join(room))["ok"] is True
    sio = chat_server.app[SOCKETIO]
    doomed_sid = doomed.sio.eio.sid
    ws = sio.eio.websockets[doomed_sid]
    assert ws._req is not None

    # The connection drops and, in the same turn of the loop, before the server has noticed,
    # a broadcast reaches its turn: it must skip the dead member and serve the rest.
    ws._req.transport.abort()
    await sio.emit(
        events.MESSAGES,
        {"streamId": room, "messages": [{"id": "x", "text": "during the drop"}]},
        room=room_name(room),
    )
    for client in (sender, reader, polling):
        await client.wait_message("during the drop")

    ack = await sender.send(room, "after the drop")
    assert ack["ok"] is True
    for client in (sender, reader, polling):
        await client.wait_message("after the drop")

    # the server lets the dead connection go
    async def forgotten() -> None:
        while doomed_sid in sio.eio.websockets or doomed_sid in sio.eio.sockets:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(forgotten(), 30)
    assert "during the drop" not in [m["text"] for m in doomed.messages()]
