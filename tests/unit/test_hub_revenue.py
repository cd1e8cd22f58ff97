"""The hub's revenue figures from ledger flows (`api.analytics.hub.revenue_day`): every kind
that `teezu ledger check` counts as spent is spent here too, each in its own figure."""

from __future__ import annotations

from api.analytics.hub import revenue_day


def flow(tx: str, account: str, total: int) -> dict:
    return {"tx_kind": tx, "account_kind": account, "total": total}


def test_each_spending_kind_lands_in_spent_and_its_own_figure() -> None:
    day = revenue_day(
        [
            flow("purchase", "sales", -500),
            flow("tip", "earnings", 80),
            flow("tip", "platform", 20),
            flow("subscription", "earnings", 40),
            flow("hold_capture", "earnings", 30),
            flow("membership", "platform", 300),  # all of a membership goes to the platform
            flow("tip", "wallet", -100),  # the payer's side is not counted twice
        ]
    )
    assert day["purchases"] == 500
    assert (day["tips"], day["subscriptions"], day["shows"], day["memberships"]) == (
        100,
        40,
        30,
        300,
    )
    assert day["spent"] == 100 + 40 + 30 + 300
    assert day["platformFees"] == 20 + 300
