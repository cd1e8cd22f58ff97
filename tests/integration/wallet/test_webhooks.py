"""Payment webhooks over HTTP: signatures verified, each event applied once, chargebacks
after the tokens were spent handled by the rule (tips reversed, never a negative wallet)."""

from __future__ import annotations

import json
import time
import uuid

import pytest_asyncio

from api.auth.rbac import Role
from api.wallet import signatures
from tests.accounts import Client
from tests.integration.wallet.conftest import live_stream
from tests.integration.wallet.test_wallet_api import (
    assert_envelope,
    balance,
    buy,
    key,
    wait_for_purchase,
)

SECRET = b"test-webhook-secret"  # the wallet_server fixture's
WEBHOOK = "/api/v1/payments/webhooks/sandbox"


@pytest_asyncio.fixture(loop_scope="session")
async def provider(wallet_server):
    """An HTTP client standing in for the payment provider (no session, no cookies)."""
    client = Client(wallet_server.base_url)
    yield client
    await client.close()


def event_body(purchase, kind: str, *, amount: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": kind,
            "data": {
                "purchaseId": str(purchase.id),
                "paymentRef": purchase.provider_ref,
                "amountMinor": purchase.price_minor if amount is None else amount,
                "currency": purchase.currency,
            },
        }
    ).encode()


async def post_event(provider, body: bytes, *, secret: bytes = SECRET, ts: int | None = None):
    header = signatures.sign(secret, ts or int(time.time()), body)
    return await provider.call(
        "POST",
        WEBHOOK,
        data=body,
        headers={"Content-Type": "application/json", signatures.HEADER: header},
    )


async def pending_purchase(wallet_server, acct):
    purchase_id = await buy(acct, method="sandbox_manual")
    purchase = await wallet_server.ledger.purchase(uuid.UUID(purchase_id))
    assert purchase is not None and purchase.state == "pending"
    return purchase


async def test_bad_signatures_are_refused_and_change_nothing(wallet_server, member, provider):
    acct = await member()
    purchase = await pending_purchase(wallet_server, acct)
    body = event_body(purchase, "payment.succeeded")
    for kwargs in ({"secret": b"wrong"}, {"ts": int(time.time()) - 3600}):
        assert_envelope(
            await post_event(provider, body, **kwargs), 401, "WEBHOOK_SIGNATURE_INVALID"
        )
    unsigned = await provider.call(
        "POST", WEBHOOK, data=body, headers={"Content-Type": "application/json"}
    )
    assert_envelope(unsigned, 401, "WEBHOOK_SIGNATURE_INVALID")
    tampered = body.replace(b'"payment.succeeded"', b'"payment.failed"')
    reply = await provider.call(
        "POST",
        WEBHOOK,
        data=tampered,
        headers={
            "Content-Type": "application/json",
            signatures.HEADER: signatures.sign(SECRET, int(time.time()), body),
        },
    )
    assert_envelope(reply, 401, "WEBHOOK_SIGNATURE_INVALID")
    assert (await wallet_server.ledger.purchase(purchase.id)).state == "pending"
    assert (await balance(acct))["balance"] == 0
    assert (
        await wallet_server.pool.fetchval(
            "SELECT count(*) FROM payment_events WHERE purchase_id = $1", purchase.id
        )
        == 0
    )


async def test_malformed_events_and_unknown_providers(provider):
    assert_envelope(await post_event(provider, b'{"id": "evt_x"}'), 400, "VALIDATION_ERROR")
    reply = await provider.call(
        "POST",
        "/api/v1/payments/webhooks/stripe",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert_envelope(reply, 404, "UNKNOWN_PAYMENT_PROVIDER")


async def test_a_duplicate_delivery_is_acknowledged_and_ignored(wallet_server, member, provider):
    acct = await member()
    purchase = await pending_purchase(wallet_server, acct)
    sandbox = wallet_server.sandbox
    event_id = await sandbox.complete(purchase.id)
    await sandbox.drain()
    assert (await balance(acct))["balance"] == 500
    assert await sandbox.redeliver(event_id) == 200
    reply = await post_event(provider, sandbox.event(event_id))  # the same event by hand too
    assert (reply.status, reply.data) == (200, {"duplicate": True, "outcome": "duplicate"})
    # Another event id for the same payment is a new event, but the purchase credits once.
    reply = await post_event(provider, event_body(purchase, "payment.succeeded"))
    assert reply.status == 200 and reply.data["duplicate"] is False
    assert reply.data["outcome"] == "ignored: purchase is confirmed"
    assert (await balance(acct))["balance"] == 500
    assert (
        await wallet_server.pool.fetchval(
            "SELECT count(*) FROM ledger_transactions WHERE purchase_id = $1", purchase.id
        )
        == 1
    )


async def test_an_event_for_another_amount_credits_nothing(wallet_server, member, provider):
    acct = await member()
    purchase = await pending_purchase(wallet_server, acct)
    body = event_body(purchase, "payment.succeeded", amount=purchase.price_minor - 1)
    reply = await post_event(provider, body)
    assert reply.status == 200
    assert reply.data["outcome"] == "ignored: amount differs from the purchase"
    assert (await wallet_server.ledger.purchase(purchase.id)).state == "pending"


async def test_a_chargeback_after_the_tokens_were_spent(wallet_server, member):
    viewer, creator = await member(), await member(Role.CREATOR)
    stream = await live_stream(wallet_server.pool, creator.id)
    purchase_id = await buy(viewer, package="tokens-100")
    await wait_for_purchase(viewer, purchase_id, "confirmed")
    reply = await viewer.call(
        "POST", f"/api/v1/streams/{stream}/tip", json={"amount": 70}, headers=key()
    )
    assert reply.status == 201, reply.body
    assert (await balance(creator))["earnings"] == 56

    await wallet_server.sandbox.chargeback(uuid.UUID(purchase_id))
    await wallet_server.sandbox.drain()

    done = await wait_for_purchase(viewer, purchase_id, "charged_back")
    assert done["state"] == "charged_back"
    assert await balance(viewer) == {"balance": 0, "held": 0, "debt": 0, "earnings": 0}
    assert (await balance(creator))["earnings"] == 0
    kinds = await wallet_server.pool.fetch(
        "SELECT kind FROM ledger_transactions WHERE purchase_id = $1 ORDER BY id",
        uuid.UUID(purchase_id),
    )
    assert [k["kind"] for k in kinds] == ["purchase", "tip_reversal", "chargeback"]
    history = await viewer.call("GET", "/api/v1/wallet/history")
    assert [(line["kind"], line["amount"]) for line in history.data] == [
        ("chargeback", -100),
        ("tip_reversal", 70),
        ("tip", -70),
        ("purchase", 100),
    ]
    assert (await wallet_server.ledger.check()).ok
