"""The kill switch stops every money path while a creator's stream is frozen, tips included.

The money paths are not listed here by hand: they are the API's operations that spend, as
its OpenAPI document says (an ``Idempotency-Key`` header, or the ``wallet.use`` permission on
a write), and the Socket.IO events whose payload carries an idempotency key
(``api.chat.events.CLIENT_PAYLOADS``). A new money route is therefore called here without
editing this file; a route that pays nobody on a stream needs an entry in ``NOT_ABOUT_A_STREAM``
with its reason. Each is called during a real freeze (a WHIP broadcast on this node, the
creator's safe word through `SafetyControl.freeze` and its kill switch) and must answer 409
``STREAM_FROZEN`` without moving a token.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from api.app import create_app
from api.auth.rbac import Role
from api.chat.events import CLIENT_PAYLOADS, moves_money
from api.keys import POOL
from api.realtime import SOCKETIO
from api.wallet.service import LEDGER
from teezu.settings import Settings
from tests.accounts import Account, create_user
from tests.chatclient import ChatClient
from tests.conftest import free_port
from tests.integration.wallet.conftest import fresh_database, fund
from tests.integration.wallet.test_wallet_api import assert_envelope, balance
from tests.performers import make_ready
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRICE = 10  # the creator's private-show price per minute

# Spending operations that pay nobody on a stream, so a freeze does not stop them.
NOT_ABOUT_A_STREAM = {
    ("POST", "/api/v1/wallet/purchase"): "buying tokens fills the buyer's own wallet",
    ("POST", "/api/v1/payouts"): "a creator cashing out what they already earned pays nobody",
    ("POST", "/api/v1/affiliates/code"): "making one's referral code moves no token",
    ("POST", "/api/v1/memberships"): "a platform membership pays the platform, no creator",
    ("POST", "/api/v1/services/{service_id}/bookings"): (
        "a booking holds the price for a provider's future slot; it is captured at completion"
    ),
}


def spending_operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the OpenAPI document that spends tokens."""
    found = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            keyed = any(
                p.get("in") == "header" and p["name"] == "Idempotency-Key"
                for p in op.get("parameters", [])
            )
            wallet_write = op.get("x-permission") == "wallet.use" and method != "get"
            if keyed or wallet_write:
                found[(method.upper(), path)] = op
    return found


def body_for(doc: dict[str, Any], op: dict[str, Any], values: dict[str, Any]) -> dict | None:
    """The operation's JSON body: its required fields, from ``values`` by field name."""
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = schema.get("schema", {}).get("$ref")
    if ref is None:
        return None
    model = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    missing = [f for f in model.get("required", []) if f not in values]
    assert not missing, f"no test value for body field(s) {missing}: add one to VALUES"
    return {f: values[f] for f in model.get("required", [])}


def url_for(path: str, values: dict[str, Any]) -> str:
    for name in [p.split("}")[0] for p in path.split("{")[1:]]:
        assert name in values, f"no test value for path parameter {name}: add one to VALUES"
        path = path.replace("{" + name + "}", str(values[name]))
    return path


@dataclass
class Node:
    base_url: str
    app: web.Application

    @property
    def pool(self) -> Any:
        return self.app[POOL]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def node(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Node]:
    """A node (ingest included) on a database of its own."""
    dsn = await fresh_database(pg_dsn, "teezu_killswitch")
    port = free_port()
    settings = Settings(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        var_dir=tmp_path_factory.mktemp("killswitch-var"),
        node_id="killswitch-test-node",
        edge_port=0,
        moderation_enabled=False,  # no inference workers: the freeze here is the safe word
        payment_webhook_secret="test-webhook-secret",
        ledger_job_interval=3600,
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
        bcrypt_rounds=4,
    )
    app = await asyncio.to_thread(create_app, settings, dsn=dsn)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Node(f"http://127.0.0.1:{port}", app)
    await runner.cleanup()


async def account(node: Node, *roles: Role) -> Account:
    user = await create_user(node, frozenset(roles or {Role.MEMBER}))
    acct = Account(node.base_url, id=user.id, handle=user.handle, email=user.email)
    assert (await acct.login()).status == 200
    return acct


async def test_every_money_route_refuses_while_the_stream_is_frozen(node):
    creator, viewer = await account(node, Role.CREATOR), await account(node)
    try:
        await _frozen_and_refused(node, creator, viewer)
    finally:
        await creator.close()
        await viewer.close()


async def _frozen_and_refused(node: Node, creator: Account, viewer: Account) -> None:
    await fund(node.app[LEDGER], viewer.id, 1000)
    price = await creator.call("PUT", "/api/v1/private-shows/price", json={"pricePerMinute": PRICE})
    assert price.status == 200, price.body
    tier = await creator.call(
        "POST", f"/api/v1/creators/{creator.id}/tiers", json={"name": "Fans", "price": 20}
    )
    assert tier.status == 201, tier.body
    made = await creator.call("POST", "/api/v1/streams", json={"title": "Frozen"})
    assert made.status == 201, made.body
    sid = made.data["id"]
    # A paid message from the creator to the viewer: unlocking it pays the creator.
    conv = await viewer.call("POST", "/api/v1/conversations", json={"handle": creator.handle})
    assert conv.status in (200, 201), conv.body
    paid = await creator.call(
        "POST",
        f"/api/v1/conversations/{conv.data['id']}/messages",
        json={"text": "secret", "price": 40},
    )
    assert paid.status == 201, paid.body
    doc = (await viewer.call("GET", "/api/v1/openapi.json")).body
    spending = spending_operations(doc)
    stale = set(NOT_ABOUT_A_STREAM) - set(spending)
    assert not stale, f"allow-list entries for operations that do not spend: {stale}"

    reviewer = await account(node, Role.MODERATOR)
    try:
        await make_ready(sid, creator, reviewer=reviewer)  # the go-live gate, as in production
    finally:
        await reviewer.close()
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, node.base_url, sid, made.data["publishToken"], size=(320, 240))
        try:
            await _until_live(node, sid)
            word = await creator.call("POST", f"/api/v1/streams/{sid}/safe-word")
            assert word.status == 200 and word.data["frozen"], word.body
            assert word.data["appliedMs"] is not None  # frozen on this node, kill switch run
            # Things to pay for that exist during the freeze (the kill switch cancelled what
            # was open when it struck): a ticket show and a pledge goal announced since.
            show = await creator.call(
                "POST", f"/api/v1/streams/{sid}/ticket-shows", json={"title": "T", "price": 30}
            )
            assert show.status == 201, show.body
            goal = await creator.call(
                "POST",
                f"/api/v1/streams/{sid}/goal",
                json={"title": "P", "target": 500, "mode": "pledge"},
            )
            assert goal.status == 201, goal.body
            values = {
                "stream_id": sid,
                "show_id": show.data["id"],
                "handle": creator.handle,
                "creator_id": creator.id,
                "amount": 10,
                "tierId": tier.data["id"],
                "pricePerMinute": PRICE,
                "option": 0,  # poll:vote (a weighted poll's vote is a tip)
                "conversation_id": conv.data["id"],
                "message_id": paid.data["id"],
            }
            before = await balance(viewer)
            called = []
            for (method, path), op in sorted(spending.items()):
                if (method, path) in NOT_ABOUT_A_STREAM:
                    continue
                reply = await viewer.call(
                    method,
                    url_for(path, values),
                    json=body_for(doc, op, values),
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                assert_envelope(reply, 409, "STREAM_FROZEN")
                called.append(path)
            # The routes the finding is about are among them (the derivation works).
            assert {
                "/api/v1/streams/{stream_id}/tip",
                "/api/v1/users/{handle}/tip",
                "/api/v1/ticket-shows/{show_id}/tickets",
                "/api/v1/streams/{stream_id}/goal/pledges",
                "/api/v1/creators/{creator_id}/subscribe",
                "/api/v1/streams/{stream_id}/private-shows",
                "/api/v1/conversations/{conversation_id}/messages/{message_id}/unlock",
            } <= set(called)
            for event in sorted(e for e in CLIENT_PAYLOADS if moves_money(e)):
                ack = await _emit_as(node, viewer, event, {"streamId": sid, **values})
                assert ack["ok"] is False and ack["code"] == "STREAM_FROZEN", (event, ack)
            # Not a token moved, nothing was reserved or subscribed.
            after = await balance(viewer)
            assert (after["balance"], after["held"]) == (before["balance"], before["held"])
            assert (after["balance"], after["held"]) == (1000, 0)
            assert (
                await node.pool.fetchval(
                    "SELECT count(*) FROM subscriptions WHERE subscriber_id = $1", viewer.id
                )
                == 0
            )
        finally:
            await pub.delete(http, node.base_url)


async def test_every_socket_event_declares_its_payload(node):
    """So a money event (a payload with an idempotency key) cannot slip past the test above."""
    handled = set(node.app[SOCKETIO].handlers["/"]) - {"connect", "disconnect"}
    assert handled == set(CLIENT_PAYLOADS)


async def _emit_as(node: Node, acct: Account, event: str, values: dict[str, Any]) -> dict:
    model = CLIENT_PAYLOADS[event]
    payload = {
        (f.alias or name): values.get(f.alias or name, uuid.uuid4().hex)
        for name, f in model.model_fields.items()
        if f.is_required() or name == "idempotency_key"
    }
    client = await ChatClient().connect(node.base_url, {"Cookie": f"session={acct.cookie()}"})
    try:
        return await client.call(event, payload)
    finally:
        await client.close()


async def _until_live(node: Node, sid: str) -> None:
    deadline = time.monotonic() + 30
    while (
        await node.pool.fetchval("SELECT state FROM streams WHERE id = $1", uuid.UUID(sid))
        != "live"
    ):
        assert time.monotonic() < deadline, "the broadcast did not go live"
        await asyncio.sleep(0.05)
