"""The heat rule of trending moments: a burst over a quiet room is a moment, steady activity
is not, and moments are at least a cooldown apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.engagement.heat import Heat, HeatRule


def test_a_burst_over_a_quiet_room_is_a_moment_and_then_it_cools_down():
    heat = Heat(HeatRule(floor=20, cooldown=60))
    assert all(heat.add(t, 1) is None for t in range(0, 100, 10))  # a message every 10 s
    marked = [t / 10 for t in range(1000, 1030) if heat.add(t / 10, 1) is not None]
    assert len(marked) == 1  # 30 messages in 3 s: one moment
    assert all(heat.add(103 + t / 10, 1) is None for t in range(30))  # within the cooldown
    assert heat.add(200, heat.rule.tip_weight(500)) is not None  # a big tip, after it


def test_a_steady_busy_room_is_not_a_moment_once_it_is_its_usual_level():
    heat = Heat(HeatRule(floor=5, cooldown=1))
    marks = [t for t in range(3000) if heat.add(float(t), 2.0) is not None]
    assert marks and max(marks) < 600  # early on the level is new; after that it is usual


@given(st.lists(st.tuples(st.floats(0, 5), st.floats(0.1, 100)), min_size=1, max_size=200))
def test_moments_are_a_cooldown_apart_and_heat_never_negative(steps):
    heat = Heat(HeatRule(cooldown=30))
    now, moments = 0.0, []
    for dt, weight in steps:
        now += dt
        if heat.add(now, weight) is not None:
            moments.append(now)
        assert heat.level(now) >= 0
    assert all(b - a >= 30 for a, b in zip(moments, moments[1:], strict=False))


def test_bad_weights_are_refused():
    with pytest.raises(ValueError):
        Heat().add(0, 0)
    with pytest.raises(ValueError):
        Heat().add(0, float("inf"))
