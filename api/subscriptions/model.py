"""What a subscription is and how it moves between states. Pure: no I/O, times passed in.

A subscription is paid per period (a calendar month, or a fixed length in seconds for tests).
The first period is charged when the viewer subscribes; the renewal job charges each next one
when the paid period ends:

* ``active``: paid through ``current_period_end``;
* a renewal that cannot be paid (not enough tokens) moves it to ``grace``: access continues
  until ``grace_until`` (the paid period's end plus the grace period) while the job retries
  every ``retry`` seconds, the last try at ``grace_until``;
* a paid retry makes it ``active`` again, with a new period starting then;
* a failed try at or after ``grace_until`` makes it ``expired``;
* a cancellation stops renewal: access continues to the end of the paid period, then the job
  marks it ``ended``. Nothing more is charged.

``access_until`` (when the subscriber may last watch) is derived here for every state and
stored with it, so `api.subscriptions.access.is_subscriber` is one indexed comparison and access
ends on time even when the job runs late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    ACTIVE = "active"
    GRACE = "grace"
    EXPIRED = "expired"
    ENDED = "ended"


LIVE_STATES = (State.ACTIVE, State.GRACE)


@dataclass(frozen=True, slots=True)
class Billing:
    """The billing calendar: period length (None: a calendar month), grace and retry times."""

    period_seconds: int | None = None
    grace: timedelta = timedelta(days=3)
    retry: timedelta = timedelta(hours=6)


class Step(StrEnum):
    """What the renewal job does with a due subscription."""

    CHARGE = "charge"  # charge the next period
    END = "end"  # cancelled and its paid period is over: end it, charge nothing


@dataclass(frozen=True, slots=True)
class Due:
    """The fields of a subscription the renewal decision reads."""

    state: State
    cancel_at_period_end: bool
    current_period_end: datetime
    grace_until: datetime | None


def step(sub: Due) -> Step:
    """The job's action for a due subscription (``next_attempt_at`` has passed)."""
    if sub.cancel_at_period_end:
        return Step.END
    return Step.CHARGE


def next_period_start(sub: Due, now: datetime, period_end_after: datetime) -> datetime:
    """Where the renewed period starts.

    On time, periods follow each other (start = the paid period's end). A period paid late
    (from grace, or by a job that was down for a whole period) starts now: nobody pays for
    time that has already gone by without access being paid for.

    ``period_end_after``: the end of a period starting at the current period's end.
    """
    if sub.state is State.ACTIVE and period_end_after > now:
        return sub.current_period_end
    return now


@dataclass(frozen=True, slots=True)
class AfterFailure:
    """The subscription after a renewal it could not pay."""

    state: State
    grace_until: datetime | None
    next_attempt_at: datetime
    access_until: datetime


def after_failure(sub: Due, now: datetime, billing: Billing) -> AfterFailure:
    """A failed renewal: into grace (or stay there) until ``grace_until``, then expire."""
    grace_until = sub.grace_until or sub.current_period_end + billing.grace
    if now >= grace_until:
        return AfterFailure(State.EXPIRED, None, now, now)
    return AfterFailure(
        State.GRACE, grace_until, min(now + billing.retry, grace_until), grace_until
    )


def access_until_paid(period_end: datetime, billing: Billing, *, cancelled: bool) -> datetime:
    """Access of a paid (active) subscription: its period, plus the grace a renewal would get
    if it fails (so a late job never cuts a paying subscriber off); no grace once cancelled."""
    return period_end if cancelled else period_end + billing.grace
