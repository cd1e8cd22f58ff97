"""Property tests: random sequences of purchases, tips, retries, holds (reserve, capture,
release), refunds and chargebacks against the real database.

After every step: every wallet, hold and debt equals a plain-Python model of the rules, and
`check_books` passes (invariant 2: balanced transactions; 4: maintained balances equal their
entries, roll-ups equal theirs; 5: no wallet below zero; 10: the books sum to zero and
outstanding = bought - spent - refunded). Every example uses fresh users, so examples share
the database without seeing each other's wallets; the books check covers everything.

The default run keeps the example count small; ``-m soak`` runs many more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.wallet.errors import HoldNotActive, PurchaseNotRefundable
from api.wallet.model import HoldPurpose, IdempotencyKey
from api.wallet.tips import TipRequest
from tests.integration.wallet.conftest import fund, live_stream

VIEWERS, CREATORS = 3, 2

viewer = st.integers(0, VIEWERS - 1)
creator = st.integers(0, CREATORS - 1)
index = st.integers(0, 1000)  # of an earlier tip/hold/purchase, modulo how many exist
OPERATIONS = st.one_of(
    st.tuples(st.just("buy"), viewer, st.sampled_from([50, 120, 400])),
    st.tuples(st.just("tip"), viewer, creator, st.integers(1, 300)),
    st.tuples(st.just("retry"), index),
    st.tuples(st.just("reserve"), viewer, creator, st.integers(1, 200)),
    st.tuples(st.just("capture"), index, st.integers(0, 100)),
    st.tuples(st.just("release"), index),
    st.tuples(st.just("refund"), index),
    st.tuples(st.just("chargeback"), index),
    st.tuples(st.just("rollup")),
)


@dataclass
class Spend:
    seq: int
    amount: int
    reversed: int = 0


@dataclass
class Model:
    """The rules of api/wallet in plain Python (integers only)."""

    wallet: list[int] = field(default_factory=lambda: [0] * VIEWERS)
    debt: list[int] = field(default_factory=lambda: [0] * VIEWERS)
    spends: list[list[Spend]] = field(default_factory=lambda: [[] for _ in range(VIEWERS)])
    purchases: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    tips: list[tuple[IdempotencyKey, TipRequest, Any]] = field(default_factory=list)

    def held(self, v: int) -> int:
        return sum(h["amount"] for h in self.holds if h["viewer"] == v and h["state"] == "held")

    def buy(self, v: int, tokens: int, seq: int) -> None:
        settle = min(self.debt[v], tokens)
        self.debt[v] -= settle
        self.wallet[v] += tokens - settle
        self.purchases.append(
            {"viewer": v, "tokens": tokens, "settled": settle, "state": "confirmed", "seq": seq}
        )

    def charge_back(self, p: dict[str, Any]) -> None:
        v = p["viewer"]
        from_wallet = min(p["tokens"], self.wallet[v])
        rest = p["tokens"] - from_wallet
        for spend in sorted(self.spends[v], key=lambda s: -s.seq):
            if rest == 0:
                break
            if spend.seq > p["seq"]:
                take = min(rest, spend.amount - spend.reversed)
                spend.reversed += take
                rest -= take
        self.wallet[v] -= from_wallet
        self.debt[v] += rest
        p["state"] = "charged_back"


async def run_sequence(ledger, operations) -> None:
    viewers = [uuid.uuid4() for _ in range(VIEWERS)]
    creators = [uuid.uuid4() for _ in range(CREATORS)]
    streams = [await live_stream(ledger.pool, c) for c in creators]
    model = Model()
    purchase_ids: list[uuid.UUID] = []
    hold_ids: list[uuid.UUID] = []

    for seq, op in enumerate(operations):
        kind = op[0]
        if kind == "buy":
            _, v, tokens = op
            purchase_ids.append(await fund(ledger, viewers[v], tokens))
            model.buy(v, tokens, seq)
        elif kind == "tip":
            _, v, c, amount = op
            key = IdempotencyKey(viewers[v], f"tip-{seq}")
            request = TipRequest(streams[c], amount)
            outcome = await ledger.tip(key, request)
            if model.wallet[v] >= amount:
                assert outcome.ok and outcome.data["balance"] == model.wallet[v] - amount
                model.wallet[v] -= amount
                model.spends[v].append(Spend(seq, amount))
            else:
                assert outcome.error == "INSUFFICIENT_FUNDS"
            model.tips.append((key, request, outcome))
        elif kind == "retry" and model.tips:
            key, request, first = model.tips[op[1] % len(model.tips)]
            again = await ledger.tip(key, request)
            assert again.replayed and (again.error, again.data) == (first.error, first.data)
        elif kind == "reserve":
            _, v, c, amount = op
            outcome = await ledger.reserve(
                IdempotencyKey(viewers[v], f"hold-{seq}"),
                amount=amount,
                purpose=HoldPurpose.PRIVATE_SHOW,
                ttl_seconds=3600,
                payee_id=creators[c],
            )
            if model.wallet[v] >= amount:
                assert outcome.ok
                model.wallet[v] -= amount
                model.holds.append({"viewer": v, "amount": amount, "state": "held"})
                hold_ids.append(uuid.UUID(outcome.data["holdId"]))
            else:
                assert outcome.error == "INSUFFICIENT_FUNDS"
        elif kind in ("capture", "release") and model.holds:
            i = op[1] % len(model.holds)
            hold = model.holds[i]
            captured = hold["amount"] * op[2] // 100 if kind == "capture" else 0
            if hold["state"] != "held":
                # An ended hold ends only once: asking for exactly what happened replays it,
                # asking for anything else is refused; either way nothing moves.
                same = (kind, captured) == ("capture", hold.get("captured")) or (
                    kind == "release" and hold["state"] == "released"
                )
                try:
                    if kind == "capture":
                        again = await ledger.capture(hold_ids[i], captured)
                    else:
                        again = await ledger.release(hold_ids[i])
                except HoldNotActive:
                    assert not same
                else:
                    assert same and again.replayed
            else:
                if kind == "capture":
                    outcome = await ledger.capture(hold_ids[i], captured)
                else:
                    outcome = await ledger.release(hold_ids[i])
                assert outcome.data["captured"] == captured
                model.wallet[hold["viewer"]] += hold["amount"] - captured
                if captured:
                    model.spends[hold["viewer"]].append(Spend(seq, captured))
                hold["state"] = "captured" if kind == "capture" else "released"
                hold["captured"] = captured if kind == "capture" else None
        elif kind == "refund" and model.purchases:
            i = op[1] % len(model.purchases)
            p = model.purchases[i]
            credited = p["tokens"] - p["settled"]
            if p["state"] == "confirmed" and model.wallet[p["viewer"]] >= credited:
                await ledger.refund(purchase_ids[i])
                model.wallet[p["viewer"]] -= credited
                model.debt[p["viewer"]] += p["settled"]
                p["state"] = "refunded"
            else:
                with pytest.raises(PurchaseNotRefundable):
                    await ledger.refund(purchase_ids[i])
        elif kind == "chargeback" and model.purchases:
            i = op[1] % len(model.purchases)
            p = model.purchases[i]
            async with ledger.pool.acquire() as conn, conn.transaction():
                result = await ledger.charge_back(conn, purchase_ids[i])
            if p["state"] == "confirmed":
                assert result == "applied"
                model.charge_back(p)
            else:
                assert result.startswith("ignored")
        elif kind == "rollup":
            await ledger.roll_up()

        for v, user in enumerate(viewers):
            view = await ledger.wallet(user)
            assert (view.balance, view.held, view.debt) == (
                model.wallet[v],
                model.held(v),
                model.debt[v],
            ), (seq, op)
        for c in creators:
            assert await ledger.earnings(c) >= 0
        report = await ledger.check()
        assert report.ok, report.problems


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=14))
async def test_invariants_hold_after_every_step(ledger, operations):
    await run_sequence(ledger, operations)


@pytest.mark.soak
@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=40))
async def test_invariants_hold_after_every_step_soak(ledger, operations):
    await run_sequence(ledger, operations)
