"""The earnings hold period (api/wallet/maturity.py): longer for new creators, stated in days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.wallet.maturity import MaturityPolicy, available

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = MaturityPolicy(days_hold=7, new_creator_days_hold=30, new_creator_age=90)


def test_new_creators_wait_longer():
    assert POLICY.hold_days(NOW - timedelta(days=10), NOW) == 30
    assert POLICY.hold_days(NOW - timedelta(days=90) + timedelta(seconds=1), NOW) == 30
    assert POLICY.hold_days(NOW - timedelta(days=90), NOW) == 7
    assert POLICY.hold_days(NOW - timedelta(days=400), NOW) == 7


def test_an_earner_without_an_account_row_counts_as_new():
    assert POLICY.hold_days(None, NOW) == 30


def test_the_cutoff_is_the_hold_period_before_now():
    assert POLICY.cutoff(NOW - timedelta(days=400), NOW) == NOW - timedelta(days=7)
    assert POLICY.cutoff(NOW, NOW) == NOW - timedelta(days=30)
    assert MaturityPolicy(0, 0, 0).cutoff(NOW, NOW) == NOW


def test_available_is_the_balance_less_immature_never_negative():
    assert available(1000, 300) == 700
    assert available(100, 300) == 0  # a reversal of immature earnings
    assert available(0, 0) == 0
