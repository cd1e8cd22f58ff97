"""The reactive avatar's state machine (api/engagement/avatar.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.engagement.avatar import HOLD, IDLE, RANK, STATES, Thresholds, react

T0 = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
LADDER = Thresholds(happy=5, excited=50, wow=200)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("amount", "state"), [(1, "idle"), (5, "happy"), (49, "happy"), (50, "excited"), (200, "wow")]
)
def test_a_tip_raises_the_avatar_by_its_size(amount, state):
    after = react(IDLE, amount, LADDER, T0)
    assert after.state == state
    assert after.until == (None if state == "idle" else s(HOLD[state]))


def test_a_smaller_tip_never_lowers_it_and_the_hold_ends_in_idle():
    wow = react(IDLE, 500, LADDER, T0)
    assert react(wow, 10, LADDER, s(1)) == wow  # still wow, its hold unchanged
    again = react(wow, 250, LADDER, s(5))  # wow again: held anew
    assert again.state == "wow" and again.until == s(5 + HOLD["wow"])
    assert again.at(s(5 + HOLD["wow"])) == IDLE
    assert react(again, 10, LADDER, s(100)).state == "happy"  # after the hold, anything raises


def test_thresholds_must_increase():
    for bad in ((0, 5, 10), (5, 5, 10), (10, 50, 20)):
        with pytest.raises(ValueError):
            Thresholds(*bad)


@given(st.lists(st.tuples(st.integers(1, 1000), st.floats(0, 30)), max_size=40))
def test_the_state_is_never_below_the_last_tip_within_its_hold(tips):
    avatar, now = IDLE, T0
    for amount, gap in tips:
        now += timedelta(seconds=gap)
        avatar = react(avatar, amount, LADDER, now)
        assert avatar.state in STATES
        assert RANK[avatar.at(now).state] >= RANK[LADDER.state_for(amount)]
        assert avatar.state == "idle" or avatar.until is not None and avatar.until > now
