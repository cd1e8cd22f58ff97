"""The wallet over HTTP with real accounts (signed in with a session cookie): permissions,
purchases through the sandbox provider's webhooks, tips, history, identical replays, and the
error envelope for every refusal."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from api.auth.rbac import Role
from tests.accounts import Client, Reply
from tests.integration.wallet.conftest import fund, live_stream


def assert_envelope(reply: Reply, status: int, code: str) -> None:
    body = reply.body
    assert (reply.status, body["status"], body["code"]) == (status, "error", code), body
    assert body["message"] and body["requestId"] and isinstance(body["meta"], dict)


def key(name: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": name or uuid.uuid4().hex}


async def wait_for_purchase(acct: Client, purchase_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        reply = await acct.call("GET", f"/api/v1/wallet/purchases/{purchase_id}")
        assert reply.status == 200, reply.body
        if reply.data["state"] == state or time.monotonic() > deadline:
            return reply.data
        await asyncio.sleep(0.02)


async def buy(acct: Client, package: str = "tokens-500", method: str | None = None) -> str:
    payload: dict[str, Any] = {"packageId": package}
    if method:
        payload["paymentMethod"] = method
    reply = await acct.call("POST", "/api/v1/wallet/purchase", json=payload, headers=key())
    assert reply.status == 202, reply.body
    return reply.data["purchase"]["id"]


async def balance(acct: Client) -> dict[str, int]:
    reply = await acct.call("GET", "/api/v1/wallet/balance")
    assert reply.status == 200, reply.body
    return reply.data


ROUTES = [
    ("GET", "/api/v1/wallet/balance"),
    ("GET", "/api/v1/wallet/history"),
    ("POST", "/api/v1/wallet/purchase"),
    ("GET", f"/api/v1/wallet/purchases/{uuid.UUID(int=0x5EED1)}"),
    ("POST", f"/api/v1/streams/{uuid.UUID(int=0x5EED2)}/tip"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_signed_in_members_only(wallet_server, member, method, path):
    anonymous = Client(wallet_server.base_url)
    try:
        assert_envelope(await anonymous.call(method, path, json={}), 401, "UNAUTHENTICATED")
    finally:
        await anonymous.close()
    viewer_only = await member(Role.VIEWER)
    assert_envelope(await viewer_only.call(method, path, json={}), 403, "FORBIDDEN")


async def test_packages_are_public(wallet_server):
    anonymous = Client(wallet_server.base_url)
    try:
        reply = await anonymous.call("GET", "/api/v1/wallet/packages")
    finally:
        await anonymous.close()
    assert reply.status == 200
    by_id = {p["id"]: p for p in reply.data}
    assert by_id["tokens-500"] == {
        "id": "tokens-500",
        "tokens": 500,
        "price": {"amountMinor": 4499, "currency": "EUR"},
    }


async def test_a_sandbox_purchase_is_credited_by_its_webhook(wallet_server, member):
    acct = await member()
    purchase_id = await buy(acct)
    done = await wait_for_purchase(acct, purchase_id, "confirmed")
    assert done["state"] == "confirmed" and done["tokens"] == 500
    assert await balance(acct) == {"balance": 500, "held": 0, "debt": 0, "earnings": 0}
    payment = wallet_server.sandbox.payment(uuid.UUID(purchase_id))
    assert payment is not None and payment.state == "succeeded"
    other = await member()
    reply = await other.call("GET", f"/api/v1/wallet/purchases/{purchase_id}")
    assert_envelope(reply, 404, "PURCHASE_NOT_FOUND")


async def test_a_declined_purchase_credits_nothing(member):
    acct = await member()
    purchase_id = await buy(acct, method="sandbox_decline")
    assert (await wait_for_purchase(acct, purchase_id, "declined"))["state"] == "declined"
    assert (await balance(acct))["balance"] == 0


@pytest.mark.parametrize(
    ("payload", "headers", "status", "code"),
    [
        ({"packageId": "tokens-500"}, {}, 400, "IDEMPOTENCY_KEY_REQUIRED"),
        (
            {"packageId": "tokens-500"},
            {"Idempotency-Key": "has space"},
            400,
            "IDEMPOTENCY_KEY_REQUIRED",
        ),
        ({"packageId": "nope"}, key(), 404, "UNKNOWN_ITEM"),
        (
            {"packageId": "tokens-500", "paymentMethod": "4111111111111111"},
            key(),
            422,
            "UNKNOWN_PAYMENT_METHOD",
        ),
        ({"packageId": "tokens-500", "provider": "paypal"}, key(), 404, "UNKNOWN_PAYMENT_PROVIDER"),
        (
            {"packageId": "tokens-500", "cardNumber": "4111111111111111"},
            key(),
            422,
            "VALIDATION_ERROR",
        ),
    ],
)
async def test_purchase_refusals(wallet_server, member, payload, headers, status, code):
    acct = await member()
    reply = await acct.call("POST", "/api/v1/wallet/purchase", json=payload, headers=headers)
    assert_envelope(reply, status, code)
    assert (
        await wallet_server.pool.fetchval(
            "SELECT count(*) FROM purchases WHERE buyer_id = $1", acct.id
        )
        == 0
    )


async def test_a_purchase_retry_replays_and_a_changed_one_is_refused(member):
    acct = await member()
    headers = key("buy-once")
    first = await acct.call(
        "POST", "/api/v1/wallet/purchase", json={"packageId": "tokens-100"}, headers=headers
    )
    again = await acct.call(
        "POST", "/api/v1/wallet/purchase", json={"packageId": "tokens-100"}, headers=headers
    )
    assert first.status == again.status == 202 and first.body == again.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    changed = await acct.call(
        "POST", "/api/v1/wallet/purchase", json={"packageId": "tokens-500"}, headers=headers
    )
    assert_envelope(changed, 422, "IDEMPOTENCY_KEY_REUSED")
    await wait_for_purchase(acct, first.data["purchase"]["id"], "confirmed")
    assert (await balance(acct))["balance"] == 100


async def test_tipping_a_live_stream(wallet_server, member):
    viewer, creator = await member(), await member(Role.CREATOR)
    await fund(wallet_server.ledger, viewer.id, 100)
    stream = await live_stream(wallet_server.pool, creator.id)
    reply = await viewer.call(
        "POST",
        f"/api/v1/streams/{stream}/tip",
        json={"amount": 40, "message": "wow"},
        headers=key(),
    )
    assert reply.status == 201, reply.body
    assert reply.data["amount"] == 40 and reply.data["balance"] == 60
    assert reply.data["split"] == {"creator": 32, "platform": 8, "referral": 0}
    assert reply.data["feeSchedule"] == "2026-12" and reply.data["streamId"] == str(stream)
    assert (await balance(creator))["earnings"] == 32


async def test_insufficient_funds_is_an_envelope_and_its_retry_is_identical(wallet_server, member):
    viewer, creator = await member(), await member(Role.CREATOR)
    await fund(wallet_server.ledger, viewer.id, 10)
    stream = await live_stream(wallet_server.pool, creator.id)
    path, headers = f"/api/v1/streams/{stream}/tip", key("too-big")
    first = await viewer.call("POST", path, json={"amount": 11}, headers=headers)
    assert_envelope(first, 402, "INSUFFICIENT_FUNDS")
    assert first.body["meta"] == {"amount": 11, "balance": 10}
    await fund(wallet_server.ledger, viewer.id, 100)
    again = await viewer.call("POST", path, json={"amount": 11}, headers=headers)
    assert (again.status, again.body) == (first.status, first.body)  # same requestId too
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await balance(viewer))["balance"] == 110


@pytest.mark.parametrize(
    ("payload", "state", "status", "code"),
    [
        ({"amount": 5}, "ended", 409, "STREAM_NOT_LIVE"),
        ({"amount": 5}, "idle", 409, "STREAM_NOT_LIVE"),
        ({"amount": 5.0}, "live", 422, "VALIDATION_ERROR"),  # no floats, not even whole ones
        ({"amount": "5"}, "live", 422, "VALIDATION_ERROR"),
        ({"amount": 0}, "live", 422, "AMOUNT_OUT_OF_RANGE"),
        ({"amount": 100_001}, "live", 422, "AMOUNT_OUT_OF_RANGE"),
        ({"amount": 5, "extra": 1}, "live", 422, "VALIDATION_ERROR"),
    ],
)
async def test_tip_refusals(wallet_server, member, payload, state, status, code):
    viewer, creator = await member(), await member(Role.CREATOR)
    await fund(wallet_server.ledger, viewer.id, 50)
    stream = await live_stream(wallet_server.pool, creator.id, state=state)
    reply = await viewer.call("POST", f"/api/v1/streams/{stream}/tip", json=payload, headers=key())
    assert_envelope(reply, status, code)
    assert (await balance(viewer))["balance"] == 50


async def test_tips_to_unknown_streams_and_to_oneself(wallet_server, member):
    creator = await member(Role.CREATOR)
    await fund(wallet_server.ledger, creator.id, 50)
    for stream in (uuid.uuid4(), "not-a-uuid"):
        reply = await creator.call(
            "POST", f"/api/v1/streams/{stream}/tip", json={"amount": 1}, headers=key()
        )
        assert_envelope(reply, 404, "STREAM_NOT_FOUND")
    own = await live_stream(wallet_server.pool, creator.id)
    reply = await creator.call(
        "POST", f"/api/v1/streams/{own}/tip", json={"amount": 1}, headers=key()
    )
    assert_envelope(reply, 422, "CANNOT_TIP_SELF")
    assert (await balance(creator))["balance"] == 50


async def test_50_concurrent_http_retries_of_one_tip_have_one_effect(wallet_server, member):
    viewer, creator = await member(), await member(Role.CREATOR)
    await fund(wallet_server.ledger, viewer.id, 100)
    stream = await live_stream(wallet_server.pool, creator.id)
    headers = key("one-tip")
    replies = await asyncio.gather(
        *[
            viewer.call(
                "POST", f"/api/v1/streams/{stream}/tip", json={"amount": 3}, headers=headers
            )
            for _ in range(50)
        ]
    )
    assert {r.status for r in replies} == {201}
    assert len({r.data["tipId"] for r in replies}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in replies) == 1
    assert (await balance(viewer))["balance"] == 97


async def test_history_pages_through_every_movement_newest_first(wallet_server, member):
    viewer, creator = await member(), await member(Role.CREATOR)
    await fund(wallet_server.ledger, viewer.id, 100)
    stream = await live_stream(wallet_server.pool, creator.id)
    for amount in (1, 2, 3, 4):
        reply = await viewer.call(
            "POST", f"/api/v1/streams/{stream}/tip", json={"amount": amount}, headers=key()
        )
        assert reply.status == 201, reply.body
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        reply = await viewer.call("GET", "/api/v1/wallet/history", params=params)
        assert reply.status == 200, reply.body
        seen += reply.data
        cursor = reply.body["nextCursor"]
        if cursor is None:
            break
    assert [(line["kind"], line["amount"]) for line in seen] == [
        ("tip", -4),
        ("tip", -3),
        ("tip", -2),
        ("tip", -1),
        ("purchase", 100),
    ]
    assert all(line["streamId"] == str(stream) for line in seen[:4])
    reply = await viewer.call("GET", "/api/v1/wallet/history", params={"cursor": "x"})
    assert_envelope(reply, 422, "VALIDATION_ERROR")


async def test_the_openapi_document_describes_the_wallet(wallet_server):
    anonymous = Client(wallet_server.base_url)
    try:
        doc = (await anonymous.call("GET", "/api/v1/openapi.json")).body
    finally:
        await anonymous.close()
    tip = doc["paths"]["/api/v1/streams/{stream_id}/tip"]["post"]
    assert tip["x-permission"] == "wallet.use"
    header = next(p for p in tip["parameters"] if p["in"] == "header")
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    assert {"201", "400", "401", "402", "403", "404", "409", "422"} <= set(tip["responses"])
    assert "/api/v1/payments/webhooks/{provider}" in doc["paths"]
