"""Tip menus and stream goals over HTTP, and what the stream's room hears (the money channel):
menu actions at their exact price, goal progress derived from the ledger, and a completion
announced exactly once, even by two nodes."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from api.auth.rbac import Role
from api.keys import PUBSUB
from api.wallet import goals
from api.wallet.events import MoneyEvents, money_channel
from api.wallet.model import IdempotencyKey
from api.wallet.tips import TipRequest
from teezu.pubsub import LocalPubSub
from tests.accounts import Client
from tests.integration.wallet.conftest import fund, live_stream
from tests.integration.wallet.test_wallet_api import assert_envelope, balance, key


async def collect(sub, until, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Messages from ``sub`` until ``until(messages)`` holds (or the deadline passes)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not until(got) and time.monotonic() < deadline:
        try:
            got.append(await asyncio.wait_for(sub.get(), deadline - time.monotonic()))
        except TimeoutError:
            break
    return got


async def test_a_creator_keeps_a_tip_menu(wallet_server, member):
    creator, other, viewer = await member(Role.CREATOR), await member(Role.CREATOR), await member()
    stream = await live_stream(wallet_server.pool, creator.id)
    song = await creator.call("POST", "/api/v1/tip-menu", json={"label": "Song", "price": 50})
    dance = await creator.call(
        "POST", "/api/v1/tip-menu", json={"label": "Dance", "price": 120, "position": 1}
    )
    assert song.status == dance.status == 201, song.body
    assert_envelope(
        await viewer.call("POST", "/api/v1/tip-menu", json={"label": "x", "price": 1}),
        403,
        "FORBIDDEN",
    )
    path = f"/api/v1/tip-menu/{song.data['id']}"
    assert_envelope(await other.call("PATCH", path, json={"price": 1}), 403, "NOT_MENU_OWNER")
    anonymous = Client(wallet_server.base_url)
    try:
        menu = await anonymous.call("GET", f"/api/v1/streams/{stream}/tip-menu")
        assert [(i["label"], i["price"]) for i in menu.data] == [("Song", 50), ("Dance", 120)]
        retired = await creator.call("PATCH", path, json={"active": False})
        assert retired.status == 200 and retired.data["active"] is False
        menu = await anonymous.call("GET", f"/api/v1/streams/{stream}/tip-menu")
        assert [i["label"] for i in menu.data] == ["Dance"]
    finally:
        await anonymous.close()


async def test_a_menu_tip_pays_exactly_the_price_and_the_room_hears_it(wallet_server, member):
    creator, other, viewer = await member(Role.CREATOR), await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 500)
    stream = await live_stream(wallet_server.pool, creator.id)
    item = await creator.call("POST", "/api/v1/tip-menu", json={"label": "Song", "price": 50})
    foreign = await other.call("POST", "/api/v1/tip-menu", json={"label": "Hat", "price": 5})
    path = f"/api/v1/streams/{stream}/tip"
    sub = await wallet_server.app[PUBSUB].subscribe(money_channel(stream))
    try:
        reply = await viewer.call(
            "POST", path, json={"amount": 50, "menuItemId": item.data["id"]}, headers=key()
        )
        assert reply.status == 201, reply.body
        assert reply.data["menuItem"] == {"id": item.data["id"], "label": "Song"}
        [event] = await collect(sub, lambda got: got)
    finally:
        await sub.close()
    assert event == {
        "type": "tip",
        "tipId": reply.data["tipId"],
        "amount": 50,
        "from": viewer.handle,
        "message": None,
        "menuItem": {"id": item.data["id"], "label": "Song"},
        "goalId": None,
    }
    changed = await viewer.call(
        "POST", path, json={"amount": 40, "menuItemId": item.data["id"]}, headers=key()
    )
    assert_envelope(changed, 409, "MENU_PRICE_CHANGED")
    assert changed.body["meta"] == {"price": 50, "amount": 40}
    for item_id in (foreign.data["id"], str(uuid.uuid4())):
        reply = await viewer.call(
            "POST", path, json={"amount": 5, "menuItemId": item_id}, headers=key()
        )
        assert_envelope(reply, 404, "UNKNOWN_ITEM")
    assert (await balance(viewer))["balance"] == 450


async def test_a_goal_fills_from_tips_and_completes_once(wallet_server, member):
    creator, stranger = await member(Role.CREATOR), await member(Role.CREATOR)
    viewers = [await member() for _ in range(4)]
    for v in viewers:
        await fund(wallet_server.ledger, v.id, 100)
    stream = await live_stream(wallet_server.pool, creator.id)
    goal_path = f"/api/v1/streams/{stream}/goal"
    assert_envelope(
        await stranger.call("POST", goal_path, json={"title": "x", "target": 5}),
        403,
        "NOT_STREAM_OWNER",
    )
    opened = await creator.call("POST", goal_path, json={"title": "New outfit", "target": 100})
    assert opened.status == 201 and opened.data["progress"] == 0, opened.body
    assert_envelope(
        await creator.call("POST", goal_path, json={"title": "Another", "target": 5}),
        409,
        "GOAL_ALREADY_OPEN",
    )
    sub = await wallet_server.app[PUBSUB].subscribe(money_channel(stream))
    try:
        # Four tips of 30 at once: the third or fourth crosses the target.
        replies = await asyncio.gather(
            *[
                v.call("POST", f"/api/v1/streams/{stream}/tip", json={"amount": 30}, headers=key())
                for v in viewers
            ]
        )
        assert {r.status for r in replies} == {201}
        assert {r.data["goalId"] for r in replies} == {opened.data["id"]}
        events = await collect(sub, lambda got: any(e["type"] == "goal.completed" for e in got))
        # Every progress pass of the goal (each could announce a completion) has finished; a
        # marker published after them arrives behind anything they sent.
        name = f"goal-progress-{opened.data['id']}"
        await asyncio.gather(*[t for t in asyncio.all_tasks() if t.get_name() == name])
        await wallet_server.app[PUBSUB].publish(money_channel(stream), {"type": "test.marker"})
        events += await collect(sub, lambda got: any(e["type"] == "test.marker" for e in got))
        assert events.pop()["type"] == "test.marker"
    finally:
        await sub.close()
    assert sum(e["type"] == "tip" for e in events) == 4
    completed = [e for e in events if e["type"] == "goal.completed"]
    assert completed == [
        {
            "type": "goal.completed",
            "goalId": opened.data["id"],
            "progress": 120,
            "target": 100,
            "title": "New outfit",
        }
    ]
    progress = [e["progress"] for e in events if e["type"] == "goal.progress"]
    assert progress and progress == sorted(progress) and progress[-1] == 120
    anonymous = Client(wallet_server.base_url)
    try:
        goal = await anonymous.call("GET", goal_path)
    finally:
        await anonymous.close()
    assert (goal.data["state"], goal.data["progress"]) == ("completed", 120)
    # A completed goal collects nothing more.
    await fund(wallet_server.ledger, viewers[0].id, 10)
    after = await viewers[0].call(
        "POST", f"/api/v1/streams/{stream}/tip", json={"amount": 10}, headers=key()
    )
    assert after.status == 201 and after.data["goalId"] is None


async def test_a_cancelled_goal_stops_counting(wallet_server, member):
    creator, viewer = await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    stream = await live_stream(wallet_server.pool, creator.id)
    goal_path = f"/api/v1/streams/{stream}/goal"
    assert_envelope(await viewer.call("GET", goal_path), 404, "GOAL_NOT_FOUND")
    await creator.call("POST", goal_path, json={"title": "Big one", "target": 1000})
    tip_path = f"/api/v1/streams/{stream}/tip"
    assert (await viewer.call("POST", tip_path, json={"amount": 10}, headers=key())).data["goalId"]
    cancelled = await creator.call("DELETE", goal_path)
    assert (cancelled.data["state"], cancelled.data["progress"]) == ("cancelled", 10)
    after = await viewer.call("POST", tip_path, json={"amount": 10}, headers=key())
    assert after.data["goalId"] is None
    assert_envelope(await creator.call("DELETE", goal_path), 404, "GOAL_NOT_FOUND")
    reopened = await creator.call("POST", goal_path, json={"title": "Smaller", "target": 5})
    assert reopened.status == 201


async def test_two_nodes_announce_a_completion_once(wallet_server, ledger):
    """Each node's MoneyEvents re-reads progress from the ledger; the conditional UPDATE lets
    exactly one of them complete the goal and announce it."""
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, 100)
    stream = await live_stream(ledger.pool, creator)
    goal = await goals.create(ledger.pool, stream, title="Both see it", target=50)
    outcome = await ledger.tip(IdempotencyKey(viewer, "g"), TipRequest(stream, 60))
    assert outcome.data["goalId"] == str(goal.id)
    pubsub = LocalPubSub()
    sub = await pubsub.subscribe(money_channel(stream))
    nodes = [MoneyEvents(ledger.pool, pubsub, interval=0.01) for _ in range(2)]
    try:
        await asyncio.gather(*[node.tipped(outcome.data, tipper=None) for node in nodes])
        events = await collect(sub, lambda got: len(got) >= 5, timeout=3)
    finally:
        for node in nodes:
            await node.close()
        await sub.close()
    kinds = [e["type"] for e in events]
    assert kinds.count("tip") == 2 and kinds.count("goal.progress") == 2
    assert kinds.count("goal.completed") == 1
    assert (await goals.get(ledger.pool, goal.id)).state == "completed"
