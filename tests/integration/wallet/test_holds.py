"""Two-phase holds: reserve, then exactly one of capture / release / expiry."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.wallet.errors import AmountOutOfRange, HoldNotActive
from api.wallet.model import HoldPurpose, IdempotencyKey
from tests.integration.wallet.conftest import fund


async def _setup(ledger, tokens: int = 500):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, tokens)
    return viewer, creator


async def _reserve(ledger, viewer, creator, amount: int, ttl: int = 600) -> uuid.UUID:
    outcome = await ledger.reserve(
        IdempotencyKey(viewer, uuid.uuid4().hex),
        amount=amount,
        purpose=HoldPurpose.PRIVATE_SHOW,
        ttl_seconds=ttl,
        payee_id=creator,
    )
    assert outcome.ok, outcome
    return uuid.UUID(outcome.data["holdId"])


async def _escrow(ledger) -> int:
    return await ledger.pool.fetchval(
        "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id = e.account_id WHERE a.kind = 'escrow'"
    )


async def _open_holds(ledger) -> int:
    return await ledger.pool.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM ledger_holds WHERE state = 'held'"
    )


async def test_reserve_moves_tokens_to_escrow_and_capture_pays_the_payee(ledger):
    viewer, creator = await _setup(ledger)
    hold = await _reserve(ledger, viewer, creator, 200)
    view = await ledger.wallet(viewer)
    assert (view.balance, view.held) == (300, 200)
    assert await _escrow(ledger) == await _open_holds(ledger)
    captured = await ledger.capture(hold, 150)  # the show ended early: 50 go back
    assert captured.data | {"txId": 0} == {
        "holdId": str(hold),
        "state": "captured",
        "amount": 200,
        "captured": 150,
        "returned": 50,
        "txId": 0,
    }
    view = await ledger.wallet(viewer)
    assert (view.balance, view.held) == (350, 0)
    assert await ledger.earnings(creator) == 120  # 80% of 150
    assert await _escrow(ledger) == await _open_holds(ledger)


async def test_release_returns_everything(ledger):
    viewer, creator = await _setup(ledger)
    hold = await _reserve(ledger, viewer, creator, 200)
    released = await ledger.release(hold)
    assert released.data["returned"] == 200 and released.data["state"] == "released"
    assert (await ledger.wallet(viewer)).balance == 500
    assert await ledger.earnings(creator) == 0


async def test_a_hold_cannot_reserve_more_than_the_wallet_has(ledger):
    viewer, creator = await _setup(ledger, 100)
    outcome = await ledger.reserve(
        IdempotencyKey(viewer, "too-much"),
        amount=101,
        purpose=HoldPurpose.TICKET,
        ttl_seconds=60,
        payee_id=creator,
    )
    assert outcome.error == "INSUFFICIENT_FUNDS"
    assert (await ledger.wallet(viewer)).balance == 100
    assert (
        await ledger.pool.fetchval("SELECT count(*) FROM ledger_holds WHERE owner_id = $1", viewer)
        == 0
    )


async def test_extending_a_hold_adds_tokens_and_time(ledger):
    viewer, creator = await _setup(ledger)
    hold = await _reserve(ledger, viewer, creator, 60, ttl=60)
    k = IdempotencyKey(viewer, "minute-2")
    extended = await ledger.extend_hold(k, hold, amount=60, ttl_seconds=120)
    assert extended.ok and extended.data["amount"] == 120
    again = await ledger.extend_hold(k, hold, amount=60, ttl_seconds=120)  # a retried minute
    assert again.replayed and again.data == extended.data
    assert (await ledger.wallet(viewer)).held == 120
    assert (await ledger.capture(hold, 120)).data["captured"] == 120
    assert (await ledger.wallet(viewer)).balance == 380


async def test_an_extension_the_wallet_cannot_pay_is_refused(ledger):
    viewer, creator = await _setup(ledger, 100)
    hold = await _reserve(ledger, viewer, creator, 60)
    out = await ledger.extend_hold(IdempotencyKey(viewer, "x"), hold, amount=41, ttl_seconds=60)
    assert out.error == "INSUFFICIENT_FUNDS"
    view = await ledger.wallet(viewer)
    assert (view.balance, view.held) == (40, 60)


async def test_an_expired_hold_cannot_be_captured_and_expiry_releases_it(ledger):
    viewer, creator = await _setup(ledger)
    hold = await _reserve(ledger, viewer, creator, 100, ttl=0)
    with pytest.raises(HoldNotActive):
        await ledger.capture(hold, 100)
    assert await ledger.expire_holds() >= 1
    state = await ledger.pool.fetchval("SELECT state FROM ledger_holds WHERE id = $1", hold)
    assert state == "expired"
    assert (await ledger.wallet(viewer)).balance == 500 and await ledger.earnings(creator) == 0
    with pytest.raises(HoldNotActive):
        await ledger.release(hold)


async def test_capturing_more_than_is_held_is_refused(ledger):
    viewer, creator = await _setup(ledger)
    hold = await _reserve(ledger, viewer, creator, 100)
    with pytest.raises(AmountOutOfRange):
        await ledger.capture(hold, 101)
    assert (await ledger.wallet(viewer)).held == 100


async def test_a_hold_ends_exactly_once_under_concurrency(ledger):
    viewer, creator = await _setup(ledger, 1000)
    hold = await _reserve(ledger, viewer, creator, 400)
    attempts = [ledger.capture(hold, 300) for _ in range(10)] + [
        ledger.release(hold) for _ in range(10)
    ]
    results = await asyncio.gather(*attempts, return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException) and not r.replayed]
    assert len(winners) == 1
    state = winners[0].data["state"]
    for r in results:
        if isinstance(r, BaseException):
            assert isinstance(r, HoldNotActive)
        else:  # a replay says exactly what happened
            assert r.data["state"] == state and r.data["txId"] == winners[0].data["txId"]
    settles = await ledger.pool.fetchval(
        "SELECT count(*) FROM ledger_transactions WHERE hold_id = $1 "
        "AND kind IN ('hold_capture', 'hold_release')",
        hold,
    )
    assert settles == 1
    expected = 700 if state == "captured" else 1000
    assert (await ledger.wallet(viewer)).balance == expected
    assert await ledger.earnings(creator) == (240 if state == "captured" else 0)
    assert await _escrow(ledger) == await _open_holds(ledger)
