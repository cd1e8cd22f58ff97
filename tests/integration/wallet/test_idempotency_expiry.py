"""Idempotency keys expire after TEEZU_IDEMPOTENCY_TTL_HOURS: until then a retry replays the
first result; after the ledger worker has deleted the key, the same key is a new request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from api.wallet.service import Ledger
from tests.integration.wallet.conftest import fund, live_stream
from workers.ledger import ledger_pass


async def test_an_unexpired_key_replays_and_an_expired_one_is_new(wallet_server, member):
    viewer = await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    stream = await live_stream(wallet_server.pool, uuid.uuid4())
    same = {"Idempotency-Key": uuid.uuid4().hex}

    async def tip():
        reply = await viewer.call(
            "POST", f"/api/v1/streams/{stream}/tip", json={"amount": 10}, headers=same
        )
        assert reply.status == 201, reply.body
        return reply

    first = await tip()
    assert first.data["balance"] == 90
    ledger = wallet_server.ledger
    await ledger.expire_keys(now=datetime.now(UTC) + timedelta(hours=1))  # 1 h old: kept
    again = await tip()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body

    deleted = await ledger.expire_keys(now=datetime.now(UTC) + timedelta(hours=25))
    assert deleted >= 1
    fresh = await tip()
    assert "Idempotent-Replayed" not in fresh.headers
    assert fresh.data["tipId"] != first.data["tipId"] and fresh.data["balance"] == 80

    # The ledger worker's pass deletes keys past the TTL (here 0 h: every key so far).
    owner_keys = "SELECT count(*) FROM idempotency_keys WHERE owner_id = $1"
    assert await wallet_server.pool.fetchval(owner_keys, viewer.id) == 1
    await ledger_pass(Ledger(wallet_server.pool, idempotency_ttl_hours=0, group_commit=False))
    assert await wallet_server.pool.fetchval(owner_keys, viewer.id) == 0
    report = await ledger.check()
    assert report.ok, report.problems
