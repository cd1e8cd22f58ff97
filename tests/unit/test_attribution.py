"""`api.affiliates.attribution`: first touch, the 30-day window, no self-referral (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.affiliates.attribution import WINDOW, Touch, attribute, mailbox

NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)
A, B, ME = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def click(owner: uuid.UUID, age: timedelta, email: str = "owner@example.org") -> Touch:
    return Touch(owner, email, uuid.UUID(int=99), NOW - age)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Ann@Example.org", "ann@example.org"),
        ("ann+ref@example.org", "ann@example.org"),
        ("a.n.n@gmail.com", "ann@googlemail.com"),
    ],
)
def test_same_mailbox(a: str, b: str) -> None:
    assert mailbox(a) == mailbox(b)


def test_dots_count_outside_gmail() -> None:
    assert mailbox("a.nn@example.org") != mailbox("ann@example.org")


def test_a_link_beats_a_typed_code_and_a_code_alone_counts() -> None:
    got = attribute(
        email="new@example.org",
        caller=None,
        click=click(A, timedelta(days=1)),
        typed=Touch(B, "b@example.org"),
        now=NOW,
    )
    assert (got.referrer, got.via) == (A, "link")
    got = attribute(
        email="new@example.org", caller=None, click=None, typed=Touch(B, "b@x.org"), now=NOW
    )
    assert (got.referrer, got.via, got.click_id) == (B, "code", None)


@given(st.integers(min_value=0, max_value=90 * 24))
def test_the_window(hours: int) -> None:
    age = timedelta(hours=hours)
    got = attribute(email="new@example.org", caller=None, click=click(A, age), typed=None, now=NOW)
    assert (got.referrer == A) == (age <= WINDOW)


def test_self_referral() -> None:
    own = Touch(ME, "me@example.org")
    # typed: refused; by the session or by the mailbox
    assert attribute(email="x@y.org", caller=ME, click=None, typed=own, now=NOW).self_referral
    assert attribute(
        email="ME+2@example.org", caller=None, click=None, typed=own, now=NOW
    ).self_referral
    # a link of one's own is dropped, not refused
    got = attribute(
        email="me+3@example.org",
        caller=None,
        click=click(ME, timedelta(hours=1), "me@example.org"),
        typed=None,
        now=NOW,
    )
    assert got.referrer is None and not got.self_referral
