"""Group commit of tips (api.wallet.tip_batches): many tips, one statement and one commit, yet
each tip keeps its own outcome, key and refusal; a batch that fails as a whole falls back to
committing each tip alone."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque

import pytest

from api.wallet import tips
from api.wallet.check import check_books
from api.wallet.errors import IdempotencyKeyReused
from api.wallet.model import IdempotencyKey
from api.wallet.service import Ledger
from api.wallet.tip_batches import TipBatcher, take_batch
from api.wallet.tips import TipRequest
from tests.integration.wallet.conftest import fund, live_stream


def key(owner: uuid.UUID, name: str | None = None) -> IdempotencyKey:
    return IdempotencyKey(owner, name or uuid.uuid4().hex)


async def tips_of(pool, viewer: uuid.UUID) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM ledger_transactions WHERE kind = 'tip' AND initiator_id = $1", viewer
    )


@pytest.fixture
def serial_ledger(ledger_pool) -> Ledger:
    """A ledger whose batcher runs one batch at a time: while the first tip of a burst is in
    flight, the rest of the burst queues and goes out as one batch."""
    ledger = Ledger(ledger_pool)
    ledger.batcher = TipBatcher(ledger_pool, max_inflight=1)
    return ledger


async def prepared(ledger: Ledger, k: IdempotencyKey, request: TipRequest):
    return await tips.prepare(ledger.pool, ledger.book, k, request)


async def test_a_burst_is_committed_in_batches_with_each_tips_own_outcome(serial_ledger):
    ledger = serial_ledger
    creator = uuid.uuid4()
    stream = await live_stream(ledger.pool, creator)
    rich = [uuid.uuid4() for _ in range(30)]
    poor = [uuid.uuid4() for _ in range(10)]
    for v in rich:
        await fund(ledger, v, 100)
    for v in poor:
        await fund(ledger, v, 5)
    viewers = rich + poor
    outcomes = await asyncio.gather(*[ledger.tip(key(v), TipRequest(stream, 40)) for v in viewers])
    batcher = ledger.batcher
    assert batcher is not None and batcher.batches >= 1 and batcher.batched_tips >= 2
    assert batcher.fallbacks == 0
    by_viewer = dict(zip(viewers, outcomes, strict=True))
    for v in rich:
        o = by_viewer[v]
        assert o.ok and o.data["balance"] == 60 and o.data["amount"] == 40, o
        assert o.data["split"] == {"creator": 32, "platform": 8, "referral": 0}
    for v in poor:
        o = by_viewer[v]
        assert o.error == "INSUFFICIENT_FUNDS" and o.data == {"amount": 40, "balance": 5}, o
        assert (await ledger.wallet(v)).balance == 5 and await tips_of(ledger.pool, v) == 0
    # Each tip is its own ledger transaction with its own id.
    assert len({by_viewer[v].data["tipId"] for v in rich}) == 30
    assert await ledger.earnings(creator) == 30 * 32
    report = await check_books(ledger.pool)
    assert report.ok, report.lines()


async def test_each_tip_of_a_batch_is_replayed_by_its_key(serial_ledger):
    ledger = serial_ledger
    stream = await live_stream(ledger.pool, uuid.uuid4())
    viewers = [uuid.uuid4() for _ in range(12)]
    for v in viewers:
        await fund(ledger, v, 10)
    keys = [key(v) for v in viewers]
    # Half can afford it: refusals and successes in the same batch, all stored.
    amounts = [5 if n % 2 else 50 for n in range(12)]
    first = await asyncio.gather(
        *[ledger.tip(k, TipRequest(stream, a)) for k, a in zip(keys, amounts, strict=True)]
    )
    second = await asyncio.gather(
        *[ledger.tip(k, TipRequest(stream, a)) for k, a in zip(keys, amounts, strict=True)]
    )
    for a, b in zip(first, second, strict=True):
        assert not a.replayed and b.replayed
        assert (a.ok, a.error, a.data) == (b.ok, b.error, b.data)
    assert sum(o.ok for o in first) == 6
    for v, a in zip(viewers, amounts, strict=True):
        assert (await ledger.wallet(v)).balance == (5 if a == 5 else 10)


async def test_a_batch_that_fails_falls_back_to_one_tip_at_a_time(serial_ledger):
    """A key already used is in the middle of a burst: the batch statement hits the key's
    unique index and rolls back as a whole; each tip is then committed alone, so the retry is
    replayed, the key reused for another request is refused, and everyone else's tip counts."""
    ledger = serial_ledger
    batcher = ledger.batcher
    assert batcher is not None
    stream = await live_stream(ledger.pool, uuid.uuid4())
    viewers = [uuid.uuid4() for _ in range(10)]
    for v in viewers:
        await fund(ledger, v, 100)
    used, reused = key(viewers[3]), key(viewers[6])
    first = await ledger.tip(used, TipRequest(stream, 9))
    await ledger.tip(reused, TipRequest(stream, 9))
    fallbacks = batcher.fallbacks
    calls = []
    for v in viewers:
        if v == viewers[3]:
            calls.append(ledger.tip(used, TipRequest(stream, 9)))  # a retry
        elif v == viewers[6]:
            calls.append(ledger.tip(reused, TipRequest(stream, 8)))  # another request
        else:
            calls.append(ledger.tip(key(v), TipRequest(stream, 9)))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert batcher.fallbacks == fallbacks + 1
    assert isinstance(results[6], IdempotencyKeyReused)
    assert results[3].replayed and results[3].data["tipId"] == first.data["tipId"]
    for n, v in enumerate(viewers):
        if n in (3, 6):
            assert await tips_of(ledger.pool, v) == 1
            assert (await ledger.wallet(v)).balance == 91
        else:
            assert results[n].ok and not results[n].replayed
            assert await tips_of(ledger.pool, v) == 1
            assert (await ledger.wallet(v)).balance == 91
    report = await check_books(ledger.pool)
    assert report.ok, report.lines()


async def test_one_viewer_is_never_twice_in_running_batches(serial_ledger):
    """20 concurrent tips of one viewer who can afford 7: exactly 7 succeed (the wallet row is
    debited once per statement, so a viewer's tips never share a batch)."""
    ledger = serial_ledger
    viewer = uuid.uuid4()
    await fund(ledger, viewer, 70)
    stream = await live_stream(ledger.pool, uuid.uuid4())
    others = [uuid.uuid4() for _ in range(5)]
    for v in others:
        await fund(ledger, v, 10)
    calls = [ledger.tip(key(viewer), TipRequest(stream, 10)) for _ in range(20)]
    calls += [ledger.tip(key(v), TipRequest(stream, 10)) for v in others]
    outcomes = await asyncio.gather(*calls)
    assert sum(o.ok for o in outcomes[:20]) == 7
    assert all(o.ok for o in outcomes[20:])
    assert (await ledger.wallet(viewer)).balance == 0 and await tips_of(ledger.pool, viewer) == 7


def test_take_batch_keeps_viewers_apart_and_order():
    def item(viewer: uuid.UUID, schedule: str = "2026-01"):
        tip = tips.PreparedTip(
            key=IdempotencyKey(viewer, uuid.uuid4().hex),
            fingerprint=b"",
            wallet_id=1,
            amount=1,
            stream_id=uuid.uuid4(),
            entries=[],
            fee_schedule=schedule,
            receipt="{}",
            memo="{}",
            menu_item_id=None,
            request_id=None,
        )
        return (tip, None)

    a, b, c, d = (uuid.uuid4() for _ in range(4))
    queue = deque([item(a), item(a), item(b), item(c), item(d, "2027-01"), item(b)])
    taken = take_batch(queue, busy={c}, max_size=10)
    assert [t.key.owner_id for t, _ in taken] == [a, b]
    # The rest stays queued in its order: a's second tip, c (busy), d (other schedule), b.
    assert [t.key.owner_id for t, _ in queue] == [a, c, d, b]
    taken = take_batch(queue, busy=set(), max_size=2)
    assert [t.key.owner_id for t, _ in taken] == [a, c]
    assert [t.key.owner_id for t, _ in queue] == [d, b]


async def test_a_batch_refuses_each_tip_to_a_creator_whose_live_stream_is_frozen(serial_ledger):
    """The kill switch in the batch statement itself: tips to a frozen stream, and to another
    live stream of the same creator, are refused (stored with their keys); tips in the same
    batch to anyone else go through."""
    ledger = serial_ledger
    frozen_creator, other_creator = uuid.uuid4(), uuid.uuid4()
    frozen = await live_stream(ledger.pool, frozen_creator)
    sibling = await live_stream(ledger.pool, frozen_creator)  # the same creator, not frozen
    fine = await live_stream(ledger.pool, other_creator)
    await ledger.pool.execute(
        "INSERT INTO stream_safety (stream_id, frozen, frozen_reason, frozen_at) "
        "VALUES ($1, true, 'safe word', now())",
        frozen,
    )
    targets = [frozen, sibling, fine] * 6
    viewers = [uuid.uuid4() for _ in targets]
    for v in viewers:
        await fund(ledger, v, 50)
    batched = ledger.batcher.batched_tips
    outcomes = await asyncio.gather(
        *[ledger.tip(key(v), TipRequest(s, 20)) for v, s in zip(viewers, targets, strict=True)]
    )
    assert ledger.batcher.batched_tips > batched  # the batch statement decided most of them
    for v, s, o in zip(viewers, targets, outcomes, strict=True):
        if s == fine:
            assert o.ok and o.data["balance"] == 30, o
        else:
            assert o.error == "STREAM_FROZEN" and o.data == {"streamId": str(s)}, o
            assert (await ledger.wallet(v)).balance == 50 and await tips_of(ledger.pool, v) == 0
    report = await check_books(ledger.pool)
    assert report.ok, report.lines()
