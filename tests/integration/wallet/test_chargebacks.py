"""Chargebacks and refunds follow the stated rule (api/wallet/chargebacks.py): unspent tokens
leave the wallet, spends are reversed against the payees' earnings (the reserve covers what
their earnings cannot), and the rest becomes the buyer's debt, never a negative wallet."""

from __future__ import annotations

import uuid

import pytest

from api.wallet import store
from api.wallet.errors import PurchaseNotRefundable
from api.wallet.model import AccountKind, HoldPurpose, IdempotencyKey, Posting, TxKind
from api.wallet.tips import TipRequest
from tests.integration.wallet.conftest import fund, live_stream


async def charge_back(ledger, purchase: uuid.UUID) -> str:
    async with ledger.pool.acquire() as conn, conn.transaction():
        return await ledger.charge_back(conn, purchase)


async def tip(ledger, viewer, stream, amount):
    outcome = await ledger.tip(IdempotencyKey(viewer, uuid.uuid4().hex), TipRequest(stream, amount))
    assert outcome.ok, outcome
    return outcome.data["tipId"]


async def reserve_total(ledger) -> int:
    return await ledger.pool.fetchval(
        "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id = e.account_id WHERE a.kind = 'chargeback_reserve'"
    )


async def test_unspent_tokens_are_taken_from_the_wallet(ledger):
    viewer = uuid.uuid4()
    await fund(ledger, viewer, 100)
    purchase = await fund(ledger, viewer, 300)
    assert await charge_back(ledger, purchase) == "applied"
    view = await ledger.wallet(viewer)
    assert (view.balance, view.debt) == (100, 0)
    assert (await ledger.purchase(purchase)).state == "charged_back"
    assert await charge_back(ledger, purchase) == "ignored: purchase is charged_back"


async def test_spent_tokens_are_reversed_from_the_creators_earnings_newest_first(ledger):
    viewer, old_creator, creator = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old_stream = await live_stream(ledger.pool, old_creator)
    stream = await live_stream(ledger.pool, creator)
    await fund(ledger, viewer, 100)
    await tip(ledger, viewer, old_stream, 100)  # before the purchase: never reversed
    purchase = await fund(ledger, viewer, 500)
    first = await tip(ledger, viewer, stream, 200)
    second = await tip(ledger, viewer, stream, 250)
    assert (await ledger.wallet(viewer)).balance == 50
    reserve_before = await reserve_total(ledger)

    assert await charge_back(ledger, purchase) == "applied"

    # 50 from the wallet, then 450 of reversals: all of the newest tip, then 200 of the first.
    reversals = await ledger.pool.fetch(
        "SELECT reverses, (memo->>'amount')::bigint AS amount, fee_schedule FROM "
        "ledger_transactions WHERE kind = 'tip_reversal' AND purchase_id = $1 ORDER BY id",
        purchase,
    )
    assert [(r["reverses"], r["amount"]) for r in reversals] == [(second, 250), (first, 200)]
    assert {r["fee_schedule"] for r in reversals} == {"2026-12"}
    view = await ledger.wallet(viewer)
    assert (view.balance, view.debt) == (0, 0)
    assert await ledger.earnings(creator) == 0  # 160 + 200 taken back
    assert await ledger.earnings(old_creator) == 80
    assert await reserve_total(ledger) == reserve_before
    assert (await ledger.check()).ok


async def test_the_reserve_covers_what_the_creators_earnings_cannot(ledger):
    """Two buyers tip one creator; the creator's earnings go to the first chargeback, so the
    second one's creator share comes from the platform's chargeback reserve."""
    a, b, creator = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    stream = await live_stream(ledger.pool, creator)
    pa = await fund(ledger, a, 100)
    pb = await fund(ledger, b, 100)
    await tip(ledger, a, stream, 100)
    await tip(ledger, b, stream, 100)
    assert await ledger.earnings(creator) == 160
    # Pretend 120 of the creator's earnings were already paid out (a payout is a debit of
    # earnings; payouts are not built yet, so post the equivalent balanced pair by hand).
    async with ledger.pool.acquire() as conn, conn.transaction():
        earnings = await ledger.book.of(conn, AccountKind.EARNINGS, creator)
        # Moving earnings to the platform is not a spend, so the token identity still holds.
        await store.post(
            conn,
            TxKind.PURCHASE,
            [
                Posting(earnings, -120),
                Posting(await ledger.book.system(conn, AccountKind.PLATFORM), 120),
            ],
        )
    reserve_before = await reserve_total(ledger)
    await charge_back(ledger, pa)
    assert await ledger.earnings(creator) == 0
    assert await reserve_total(ledger) - reserve_before == -40  # 80 owed, 40 left to take
    await charge_back(ledger, pb)
    assert await ledger.earnings(creator) == 0  # never negative
    assert await reserve_total(ledger) - reserve_before == -120
    for viewer in (a, b):
        assert (await ledger.wallet(viewer)).balance == 0


async def test_what_cannot_be_reversed_becomes_debt_settled_by_the_next_purchase(ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    purchase = await fund(ledger, viewer, 300)
    reserved = await ledger.reserve(
        IdempotencyKey(viewer, "hold"),
        amount=250,
        purpose=HoldPurpose.TICKET,
        ttl_seconds=600,
        payee_id=creator,
    )
    assert reserved.ok
    await charge_back(ledger, purchase)
    view = await ledger.wallet(viewer)
    assert (view.balance, view.held, view.debt) == (0, 250, 250)
    # The next purchase pays the debt first.
    await fund(ledger, viewer, 100)
    view = await ledger.wallet(viewer)
    assert (view.balance, view.debt) == (0, 150)
    await fund(ledger, viewer, 500)
    view = await ledger.wallet(viewer)
    assert (view.balance, view.debt) == (350, 0)
    assert (await ledger.check()).ok


async def test_a_purchase_is_refundable_only_while_its_tokens_are_unspent(ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    stream = await live_stream(ledger.pool, creator)
    spent = await fund(ledger, viewer, 100)
    await tip(ledger, viewer, stream, 60)
    with pytest.raises(PurchaseNotRefundable):
        await ledger.refund(spent)
    kept = await fund(ledger, viewer, 100)
    await ledger.refund(kept)
    assert (await ledger.purchase(kept)).state == "refunded"
    assert (await ledger.wallet(viewer)).balance == 40
    with pytest.raises(PurchaseNotRefundable):
        await ledger.refund(kept)
    assert await charge_back(ledger, kept) == "ignored: purchase is refunded"
    assert (await ledger.check()).ok
