"""Tips: the split, the refusals, idempotency, and the wallet under concurrent spending."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.wallet.errors import (
    AmountOutOfRange,
    CreatorNotPayable,
    IdempotencyKeyReused,
    SelfTip,
    StreamNotFound,
)
from api.wallet.model import IdempotencyKey
from api.wallet.service import Ledger
from api.wallet.tips import TipRequest
from tests.integration.wallet.conftest import fund, live_stream


def key(owner: uuid.UUID, name: str | None = None) -> IdempotencyKey:
    return IdempotencyKey(owner, name or uuid.uuid4().hex)


async def wallet_balance(ledger, user) -> int:
    return (await ledger.wallet(user)).balance


async def tip_count(ledger, user) -> int:
    return await ledger.pool.fetchval(
        "SELECT count(*) FROM ledger_transactions WHERE kind = 'tip' AND initiator_id = $1", user
    )


async def test_a_tip_debits_the_viewer_and_splits_under_the_recorded_schedule(ledger):
    viewer, creator, referrer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await ledger.pool.execute(
        "INSERT INTO affiliate_referrals (referred_id, referrer_id) VALUES ($1, $2)",
        creator,
        referrer,
    )
    await fund(ledger, viewer, 500)
    stream = await live_stream(ledger.pool, creator)
    outcome = await ledger.tip(key(viewer), TipRequest(stream, 100, "hi"))
    assert outcome.ok and not outcome.replayed
    assert outcome.data["balance"] == 400
    assert outcome.data["split"] == {"creator": 80, "platform": 15, "referral": 5}
    assert await wallet_balance(ledger, viewer) == 400
    assert await ledger.earnings(creator) == 80
    assert await ledger.earnings(referrer) == 5
    tx = await ledger.pool.fetchrow(
        "SELECT kind, fee_schedule, stream_id, initiator_id FROM ledger_transactions WHERE id = $1",
        outcome.data["tipId"],
    )
    assert dict(tx) == {
        "kind": "tip",
        "fee_schedule": "2026-12",
        "stream_id": stream,
        "initiator_id": viewer,
    }
    entries = await ledger.pool.fetch(
        "SELECT a.kind, e.amount FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id = e.account_id WHERE e.tx_id = $1 ORDER BY e.amount",
        outcome.data["tipId"],
    )
    assert [(e["kind"], e["amount"]) for e in entries] == [
        ("wallet", -100),
        ("earnings", 5),
        ("platform", 15),
        ("earnings", 80),
    ]


async def test_insufficient_funds_changes_nothing_and_is_stored(ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, 50)
    stream = await live_stream(ledger.pool, creator)
    k = key(viewer)
    outcome = await ledger.tip(k, TipRequest(stream, 51), request_id="req-1")
    assert outcome.error == "INSUFFICIENT_FUNDS"
    assert outcome.data == {"amount": 51, "balance": 50}
    assert await wallet_balance(ledger, viewer) == 50 and await tip_count(ledger, viewer) == 0
    # The refusal is the key's first result: a retry replays it, even after a top-up.
    await fund(ledger, viewer, 100)
    again = await ledger.tip(k, TipRequest(stream, 51), request_id="req-2")
    assert again.replayed and again.error == "INSUFFICIENT_FUNDS"
    assert again.request_id == "req-1" and again.data == outcome.data


@pytest.mark.parametrize("state", ["idle", "ended"])
async def test_a_stream_that_is_not_live_takes_no_tips(ledger, state):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, 50)
    stream = await live_stream(ledger.pool, creator, state=state)
    outcome = await ledger.tip(key(viewer), TipRequest(stream, 10))
    assert outcome.error == "STREAM_NOT_LIVE"
    assert await wallet_balance(ledger, viewer) == 50 and await ledger.earnings(creator) == 0


async def test_refusals_before_any_money_moves(ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, 50)
    stream = await live_stream(ledger.pool, creator)
    with pytest.raises(StreamNotFound):
        await ledger.tip(key(viewer), TipRequest(uuid.uuid4(), 10))
    with pytest.raises(SelfTip):
        await ledger.tip(key(creator), TipRequest(stream, 10))
    for amount in (0, -5, ledger.tip_max + 1):
        with pytest.raises(AmountOutOfRange):
            await ledger.tip(key(viewer), TipRequest(stream, amount))
    orphan = await live_stream(ledger.pool, creator)
    await ledger.pool.execute("UPDATE streams SET creator_id = NULL WHERE id = $1", orphan)
    with pytest.raises(CreatorNotPayable):
        await ledger.tip(key(viewer), TipRequest(orphan, 10))
    assert await wallet_balance(ledger, viewer) == 50


async def test_a_retry_replays_the_first_result_and_moves_nothing(ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, 100)
    stream = await live_stream(ledger.pool, creator)
    k = key(viewer)
    first = await ledger.tip(k, TipRequest(stream, 30))
    second = await ledger.tip(k, TipRequest(stream, 30))
    assert second.replayed and not first.replayed
    assert second.data == first.data and second.error is None
    assert await wallet_balance(ledger, viewer) == 70 and await tip_count(ledger, viewer) == 1


async def test_one_key_with_a_different_request_is_refused(ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(ledger, viewer, 100)
    stream = await live_stream(ledger.pool, creator)
    k = key(viewer)
    await ledger.tip(k, TipRequest(stream, 30))
    for other in (TipRequest(stream, 31), TipRequest(stream, 30, "changed")):
        with pytest.raises(IdempotencyKeyReused):
            await ledger.tip(k, other)
    assert await wallet_balance(ledger, viewer) == 70 and await tip_count(ledger, viewer) == 1


async def test_keys_belong_to_their_owner(ledger):
    a, b, creator = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await fund(ledger, a, 100)
    await fund(ledger, b, 100)
    stream = await live_stream(ledger.pool, creator)
    assert (await ledger.tip(IdempotencyKey(a, "same"), TipRequest(stream, 10))).ok
    other = await ledger.tip(IdempotencyKey(b, "same"), TipRequest(stream, 10))
    assert other.ok and not other.replayed
    assert await wallet_balance(ledger, a) == 90 and await wallet_balance(ledger, b) == 90


@pytest.fixture(params=["group-commit", "one-commit-each"])
def tip_ledger(request, ledger_pool) -> Ledger:
    """The ledger with concurrent tips committed in batches (the default), and one commit per
    tip (what several API nodes racing look like to the database)."""
    return Ledger(ledger_pool, group_commit=request.param == "group-commit")


async def test_200_concurrent_tips_only_the_affordable_ones_succeed(tip_ledger):
    """20 wallets of 100 tokens each send 10 concurrent 30-token tips: each can afford
    exactly 3, so exactly 60 of the 200 succeed and every wallet ends at 10."""
    creator = uuid.uuid4()
    stream = await live_stream(tip_ledger.pool, creator)
    viewers = [uuid.uuid4() for _ in range(20)]
    for v in viewers:
        await fund(tip_ledger, v, 100)
    calls = [tip_ledger.tip(key(v), TipRequest(stream, 30)) for _ in range(10) for v in viewers]
    outcomes = await asyncio.gather(*calls)
    assert sum(o.ok for o in outcomes) == 60
    assert {o.error for o in outcomes if not o.ok} == {"INSUFFICIENT_FUNDS"}
    for v in viewers:
        assert await wallet_balance(tip_ledger, v) == 10
        assert await tip_count(tip_ledger, v) == 3
    assert min(o.data["balance"] for o in outcomes if o.ok) >= 10
    assert await tip_ledger.earnings(creator) == 60 * 24


async def test_50_concurrent_retries_of_one_key_have_one_effect(tip_ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(tip_ledger, viewer, 1000)
    stream = await live_stream(tip_ledger.pool, creator)
    k = key(viewer)
    outcomes = await asyncio.gather(*[tip_ledger.tip(k, TipRequest(stream, 7)) for _ in range(50)])
    assert all(o.ok for o in outcomes)
    assert sum(not o.replayed for o in outcomes) == 1
    assert len({o.data["tipId"] for o in outcomes}) == 1
    assert (
        await wallet_balance(tip_ledger, viewer) == 993 and await tip_count(tip_ledger, viewer) == 1
    )


async def test_two_different_requests_racing_on_one_key_one_wins_one_is_refused(tip_ledger):
    viewer, creator = uuid.uuid4(), uuid.uuid4()
    await fund(tip_ledger, viewer, 1000)
    stream = await live_stream(tip_ledger.pool, creator)
    k = key(viewer)
    results = await asyncio.gather(
        *[tip_ledger.tip(k, TipRequest(stream, amount)) for amount in (5, 6) * 10],
        return_exceptions=True,
    )
    won = {r.data["amount"] for r in results if not isinstance(r, BaseException)}
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(refused) == 10
    assert all(isinstance(r, IdempotencyKeyReused) for r in refused)
    assert await wallet_balance(tip_ledger, viewer) == 1000 - won.pop()
    assert await tip_count(tip_ledger, viewer) == 1
