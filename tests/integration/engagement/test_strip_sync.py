"""StripSync over real Socket.IO clients and real tips: the creator queues actions, free
votes and tipped votes (through the ledger, a retried key counted once) weigh them, "next"
takes the heaviest, every member hears the same order once, and refusals carry their codes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.engagement import events
from tests.integration.engagement.test_reactions import live_room

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_votes_and_tips_pick_the_next_action_in_one_order(
    user, connect, new_room, chat_server
):
    creator, room, watcher, fan = await live_room(user, connect, new_room, chat_server)
    studio = await connect(creator)
    assert (await studio.join(room))["ok"]
    tipper = await connect(fan)
    assert (await tipper.join(room))["ok"]
    queued = await studio.call(
        events.SYNC_QUEUE, {"streamId": room, "actions": ["Dance", "Sing", "Spin"]}
    )
    assert queued["ok"], queued
    ids = {a["label"]: a["id"] for a in queued["queued"]}
    assert [a["label"] for a in queued["queued"]] == ["Dance", "Sing", "Spin"]  # oldest first

    # Spin: one free vote; Sing: a 20-token tip, retried with the same key (counted once)
    assert (await watcher.call(events.SYNC_VOTE, {"streamId": room, "actionId": ids["Spin"]}))["ok"]
    again = await watcher.call(events.SYNC_VOTE, {"streamId": room, "actionId": ids["Spin"]})
    assert again["code"] == "ALREADY_VOTED"
    key = uuid.uuid4().hex
    body = {"streamId": room, "actionId": ids["Sing"], "amount": 20, "idempotencyKey": key}
    first, retry = await asyncio.gather(
        tipper.call(events.SYNC_VOTE, body), tipper.call(events.SYNC_VOTE, body)
    )
    assert first["ok"] and retry["ok"] and first["tipId"] == retry["tipId"], (first, retry)
    board = await watcher.wait_for(
        lambda: (
            (b := watcher.received[events.SYNC_BOARD])
            and b[-1]["queued"][0]["points"] == 20
            and b[-1]
        ),
        what="the board with the tip",
    )
    assert [(a["label"], a["points"]) for a in board["queued"]] == [
        ("Sing", 20),
        ("Spin", 1),
        ("Dance", 0),
    ]

    order = []
    for _ in range(3):
        ack = await studio.call(events.SYNC_NEXT, {"streamId": room})
        assert ack["ok"], ack
        order.append((ack["action"]["label"], ack["action"]["order"]))
    assert order == [("Sing", 1), ("Spin", 2), ("Dance", 3)]
    empty = await studio.call(events.SYNC_NEXT, {"streamId": room})
    assert empty["code"] == "SYNC_QUEUE_EMPTY"
    for client in (watcher, tipper):
        picked = await client.wait_for(
            lambda c=client: (
                len(c.received[events.SYNC_PICKED]) >= 3 and c.received[events.SYNC_PICKED]
            ),
            what="three picks",
        )
        assert [(p["action"]["label"], p["action"]["order"]) for p in picked] == order
    late = await watcher.call(events.SYNC_VOTE, {"streamId": room, "actionId": ids["Dance"]})
    assert late["code"] == "SYNC_ACTION_GONE"
    assert (
        await chat_server.pool.fetchval(
            "SELECT count(*) FROM sync_votes v JOIN sync_actions a ON a.id = v.action_id "
            "WHERE a.stream_id = $1",
            uuid.UUID(room),
        )
        == 2
    )


async def test_bad_sync_requests_get_their_codes(user, connect, new_room, chat_server):
    creator, room, watcher, fan = await live_room(user, connect, new_room, chat_server)
    studio = await connect(creator)
    assert (await studio.join(room))["ok"]
    for body in (
        {"streamId": room, "actions": []},
        {"streamId": room, "actions": ["x" * 81]},
        {"streamId": room, "actions": ["a"] * 11},
    ):
        assert (await studio.call(events.SYNC_QUEUE, body))["code"] == "VALIDATION_ERROR"
    assert (await watcher.call(events.SYNC_QUEUE, {"streamId": room, "actions": ["a"]}))[
        "code"
    ] == "NOT_STREAM_OWNER"
    ok = await studio.call(events.SYNC_QUEUE, {"streamId": room, "actions": ["a"] * 10})
    assert ok["ok"]
    full = await studio.call(events.SYNC_QUEUE, {"streamId": room, "actions": ["b"]})
    assert full["code"] == "SYNC_QUEUE_FULL"
    action = ok["queued"][0]["id"]
    half_tip = {"streamId": room, "actionId": action, "amount": 5}
    assert (await watcher.call(events.SYNC_VOTE, half_tip))["code"] == "VOTE_WEIGHT_MISMATCH"
    poor = await watcher.call(
        events.SYNC_VOTE, {**half_tip, "amount": 10**6, "idempotencyKey": uuid.uuid4().hex}
    )
    assert poor["code"] in ("INSUFFICIENT_FUNDS", "AMOUNT_OUT_OF_RANGE"), poor
    unknown = {"streamId": room, "actionId": str(uuid.uuid4())}
    assert (await watcher.call(events.SYNC_VOTE, unknown))["code"] == "SYNC_ACTION_NOT_FOUND"
    assert (await studio.call(events.SYNC_DROP, {"streamId": room, "actionId": action}))["ok"]
    dropped = await watcher.call(events.SYNC_VOTE, {"streamId": room, "actionId": action})
    assert dropped["code"] == "SYNC_ACTION_GONE"
    assert not await chat_server.pool.fetchval(
        "SELECT count(*) FROM sync_votes v JOIN sync_actions a ON a.id = v.action_id "
        "WHERE a.stream_id = $1",
        uuid.UUID(room),
    )
