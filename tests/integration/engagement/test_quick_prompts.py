"""Quick prompts: a creator's priced prompts; a purchase is a tip with the menu item, recorded
(the ``stream_tips`` view) with its source, its triggered action and the goal it counted for."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.engagement.test_reactions import live_room

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def call(http, method: str, url: str, who, body=None, key: str | None = None):
    headers = dict(who.headers)
    if key:
        headers["Idempotency-Key"] = key
    async with http.request(method, url, json=body, headers=headers) as res:
        return res.status, await res.json()


async def test_a_prompt_purchase_is_a_tip_recorded_with_its_source_and_action(
    user, connect, new_room, chat_server, http
):
    creator, room, watcher, fan = await live_room(user, connect, new_room, chat_server)
    base = f"{chat_server.base_url}/api/v1"
    status, body = await call(
        http,
        "POST",
        f"{base}/tip-menu",
        creator,
        {"label": "Blow a kiss", "price": 25, "kind": "prompt", "triggerAction": "kiss"},
    )
    assert status == 201, body
    prompt = body["data"]
    assert (prompt["kind"], prompt["triggerAction"]) == ("prompt", "kiss")
    for price in (4, 501):
        status, body = await call(
            http,
            "POST",
            f"{base}/tip-menu",
            creator,
            {"label": "Too cheap or dear", "price": price, "kind": "prompt"},
        )
        assert (status, body["code"]) == (422, "PROMPT_PRICE_OUT_OF_RANGE")
    status, body = await call(
        http, "POST", f"{base}/tip-menu", creator, {"label": "Song", "price": 600}
    )
    assert status == 201
    song = body["data"]
    status, body = await call(
        http, "POST", f"{base}/streams/{room}/goal", creator, {"title": "Party", "target": 1000}
    )
    assert status == 201
    goal = body["data"]["id"]
    status, body = await call(http, "GET", f"{base}/streams/{room}/tip-menu", fan)
    assert {i["kind"] for i in body["data"]} == {"prompt", "menu"}

    tips = {}
    for name, tip in (
        ("prompt", {"amount": 25, "menuItemId": prompt["id"]}),
        ("menu", {"amount": 600, "menuItemId": song["id"]}),
        ("direct", {"amount": 7}),
    ):
        key = uuid.uuid4().hex
        status, body = await call(http, "POST", f"{base}/streams/{room}/tip", fan, tip, key)
        assert status == 201, body
        tips[name] = body["data"]["tipId"]
        # a retry with its key replays it: still one tip
        status, again = await call(http, "POST", f"{base}/streams/{room}/tip", fan, tip, key)
        assert again["data"]["tipId"] == tips[name]
    status, body = await call(
        http,
        "POST",
        f"{base}/streams/{room}/tip",
        fan,
        {"amount": 30, "menuItemId": prompt["id"]},
        uuid.uuid4().hex,
    )
    assert (status, body["code"]) == (409, "MENU_PRICE_CHANGED")

    rows = await chat_server.pool.fetch(
        "SELECT tip_id, tip_source, trigger_action, goal_id, menu_item_id, amount "
        "FROM stream_tips WHERE stream_id = $1 ORDER BY tip_id",
        uuid.UUID(room),
    )
    assert len(rows) == 3
    by_id = {r["tip_id"]: r for r in rows}
    p, m, d = by_id[tips["prompt"]], by_id[tips["menu"]], by_id[tips["direct"]]
    assert (p["tip_source"], p["trigger_action"], str(p["goal_id"]), p["amount"]) == (
        "prompt",
        "kiss",
        goal,
        25,
    )
    assert (m["tip_source"], m["trigger_action"], str(m["menu_item_id"])) == (
        "menu",
        None,
        song["id"],
    )
    assert (d["tip_source"], d["trigger_action"], d["menu_item_id"]) == ("direct", None, None)
    # the room heard the prompt's tip with its item
    heard = await watcher.wait_for(
        lambda: [t for t in watcher.received["money:tip"] if t["tipId"] == tips["prompt"]],
        what="the prompt's tip",
    )
    assert heard[0]["menuItem"]["label"] == "Blow a kiss"
