"""The subscription state rules (`api.subscriptions.model`): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.subscriptions.model import (
    Billing,
    Due,
    State,
    Step,
    access_until_paid,
    after_failure,
    next_period_start,
    step,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BILLING = Billing(period_seconds=None, grace=timedelta(days=3), retry=timedelta(hours=6))


def due(state: State = State.ACTIVE, *, cancel: bool = False, grace_until=None) -> Due:
    return Due(state, cancel, T0, grace_until)


def test_a_cancelled_subscription_ends_and_every_other_one_is_charged():
    assert step(due(cancel=True)) is Step.END
    assert step(due()) is Step.CHARGE
    assert step(due(State.GRACE, grace_until=T0 + timedelta(days=3))) is Step.CHARGE


def test_an_unpaid_renewal_retries_through_grace_then_expires():
    first = after_failure(due(), T0 + timedelta(minutes=1), BILLING)
    assert first.state is State.GRACE
    assert first.grace_until == first.access_until == T0 + timedelta(days=3)
    assert first.next_attempt_at == T0 + timedelta(minutes=1, hours=6)
    # Retries keep the same grace end, and the last one is at it, never after.
    late = after_failure(
        due(State.GRACE, grace_until=first.grace_until), T0 + timedelta(days=2, hours=22), BILLING
    )
    assert late.state is State.GRACE and late.next_attempt_at == first.grace_until
    over = after_failure(
        due(State.GRACE, grace_until=first.grace_until), first.grace_until, BILLING
    )
    assert over.state is State.EXPIRED and over.access_until == first.grace_until


@pytest.mark.parametrize("grace", [timedelta(0), timedelta(hours=1)])
def test_a_job_later_than_the_grace_expires_at_once(grace):
    now = T0 + timedelta(hours=2)
    out = after_failure(due(), now, Billing(grace=grace))
    assert out.state is State.EXPIRED and out.access_until == now


def test_periods_follow_each_other_unless_paid_late():
    on_time = T0 - timedelta(seconds=1)
    assert next_period_start(due(), on_time, T0 + timedelta(days=30)) == T0
    # A whole period already gone by (the job was down): the new one starts when paid.
    very_late = T0 + timedelta(days=31)
    assert next_period_start(due(), very_late, T0 + timedelta(days=30)) == very_late
    # Paid from grace: starts then.
    now = T0 + timedelta(days=1)
    grace = due(State.GRACE, grace_until=T0 + timedelta(days=3))
    assert next_period_start(grace, now, T0 + timedelta(days=30)) == now


def test_access_of_a_paid_subscription():
    assert access_until_paid(T0, BILLING, cancelled=False) == T0 + timedelta(days=3)
    assert access_until_paid(T0, BILLING, cancelled=True) == T0
