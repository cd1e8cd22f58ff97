"""Paid direct messages: a creator asks a price, the recipient unlocks it once.

Concurrent retries (one key repeated, and several keys) move tokens exactly once; the split
pays the creator, the platform and the creator's referrer like a tip; the text stays hidden
until then (REST and Socket.IO); `teezu ledger check` passes afterwards.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.auth.rbac import Role
from api.auth.sessions import COOKIE
from api.wallet.check import check_books
from tests.chatclient import ChatClient
from tests.integration.wallet.conftest import assert_envelope, fund, key

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_unlock_is_paid_exactly_once_under_concurrent_retries(wallet_server, member):
    buyer = await member()
    creator = await member(Role.CREATOR)
    referrer = uuid.uuid4()
    await wallet_server.pool.execute(
        "INSERT INTO affiliate_referrals (referred_id, referrer_id) VALUES ($1, $2)",
        creator.id,
        referrer,
    )
    await fund(wallet_server.ledger, buyer.id, 100)
    conv = (await buyer.call("POST", "/api/v1/conversations", json={"handle": creator.handle})).data
    cid = conv["id"]
    socket = ChatClient()
    await socket.connect(wallet_server.base_url, {"Cookie": f"{COOKIE}={buyer.cookie()}"})
    try:
        r = await creator.call(
            "POST", f"/api/v1/conversations/{cid}/messages", json={"text": "secret", "price": 40}
        )
        assert r.status == 201, r.body
        mid = r.data["id"]
        assert r.data["price"] == 40 and not r.data["locked"] and r.data["text"] == "secret"
        pushed = await socket.wait_for(lambda: socket.received["dm:message"], what="delivery")
        assert pushed[0]["message"]["locked"] and pushed[0]["message"]["text"] == ""
        r = await buyer.call("GET", f"/api/v1/conversations/{cid}/messages")
        assert r.data[0]["locked"] and r.data[0]["text"] == ""
        r = await buyer.call("GET", "/api/v1/conversations")
        assert next(c for c in r.data if c["id"] == cid)["lastText"] is None

        url = f"/api/v1/conversations/{cid}/messages/{mid}/unlock"
        r = await buyer.call("POST", url)
        assert_envelope(r, 400, "IDEMPOTENCY_KEY_REQUIRED")
        same = key()
        keys = [same] * 8 + [key() for _ in range(8)]
        replies = await asyncio.gather(*[buyer.call("POST", url, headers=k) for k in keys])
        assert {r.status for r in replies} == {201}, [r.body for r in replies]
        assert len({r.data["txId"] for r in replies}) == 1
        # One key paid (its retries replay that answer); every other key found it paid.
        fresh = {
            k["Idempotency-Key"]
            for k, r in zip(keys, replies, strict=True)
            if not r.data["alreadyUnlocked"]
        }
        assert len(fresh) == 1
        same_key = {
            r.data["alreadyUnlocked"] for k, r in zip(keys, replies, strict=True) if k is same
        }
        assert len(same_key) == 1  # one outcome per key, replayed
        assert {r.data["balance"] for r in replies} == {60}
        tx = replies[0].data["txId"]
        entries = dict(
            await wallet_server.pool.fetch(
                "SELECT a.owner_id, e.amount FROM ledger_entries e "
                "JOIN ledger_accounts a ON a.id = e.account_id WHERE e.tx_id = $1",
                tx,
            )
        )
        # 40 tokens: the creator's 80 %, the referrer's share carved out of the platform's.
        assert entries[buyer.id] == -40 and entries[creator.id] == 32 and entries[referrer] > 0
        assert sum(entries.values()) == 0
        paid = await wallet_server.pool.fetchval(
            "SELECT count(*) FROM ledger_transactions WHERE memo->>'directMessage' = $1", mid
        )
        assert paid == 1
        opened = await socket.wait_for(lambda: socket.received["dm:unlocked"], what="unlocked")
        assert opened[0]["message"]["text"] == "secret" and opened[0]["message"]["unlocked"]
        r = await buyer.call("GET", f"/api/v1/conversations/{cid}/messages")
        assert r.data[0]["text"] == "secret" and not r.data[0]["locked"]

        # Refusals: the seller cannot buy their own; unpriced; unknown; too poor.
        r = await creator.call("POST", url, headers=key())
        assert_envelope(r, 422, "MESSAGE_NOT_FOR_SALE")
        plain = (
            await creator.call(
                "POST", f"/api/v1/conversations/{cid}/messages", json={"text": "free"}
            )
        ).data["id"]
        r = await buyer.call(
            "POST", f"/api/v1/conversations/{cid}/messages/{plain}/unlock", headers=key()
        )
        assert_envelope(r, 422, "MESSAGE_NOT_FOR_SALE")
        r = await buyer.call(
            "POST", f"/api/v1/conversations/{cid}/messages/{uuid.uuid4()}/unlock", headers=key()
        )
        assert_envelope(r, 404, "MESSAGE_NOT_FOUND")
        dear = (
            await creator.call(
                "POST",
                f"/api/v1/conversations/{cid}/messages",
                json={"text": "dear", "price": 1000},
            )
        ).data["id"]
        r = await buyer.call(
            "POST", f"/api/v1/conversations/{cid}/messages/{dear}/unlock", headers=key()
        )
        assert_envelope(r, 402, "INSUFFICIENT_FUNDS")
        assert not await wallet_server.pool.fetchval(
            "SELECT count(*) FROM message_unlocks WHERE message_id = $1", uuid.UUID(dear)
        )
        # A member cannot ask a price.
        r = await buyer.call(
            "POST", f"/api/v1/conversations/{cid}/messages", json={"text": "x", "price": 5}
        )
        assert_envelope(r, 403, "CANNOT_PRICE_MESSAGE")
    finally:
        await socket.close()
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems
