"""The mood strip's arithmetic (api/engagement/moods.py): windows, partials, when to speak."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.engagement.moods import (
    MOODS,
    ZERO,
    MoodWindow,
    Partial,
    from_wire,
    minute_of,
    room_totals,
    should_publish,
    wire,
)


def test_the_window_counts_the_last_seconds_only():
    w = MoodWindow(window=10)
    assert w.vote("calm", 100) == 1
    assert w.vote("calm", 105) == 2
    assert w.vote("flirty", 109) == 3
    assert w.totals(109)[MOODS.index("calm")] == 2
    assert w.totals(110)[MOODS.index("calm")] == 1  # second 100 left the window
    assert w.totals(119) == ZERO and w.empty
    assert w.votes == 3  # the running count never shrinks


@given(st.lists(st.tuples(st.sampled_from(MOODS), st.integers(0, 50)), max_size=200))
def test_totals_equal_the_votes_in_the_window(votes):
    w = MoodWindow(window=20)
    for mood, second in sorted(votes, key=lambda v: v[1]):
        w.vote(mood, second)
    now = 50
    expected = [0] * len(MOODS)
    for mood, second in votes:
        if now - 20 < second <= now:
            expected[MOODS.index(mood)] += 1
    assert list(w.totals(now)) == expected


def test_room_totals_sum_fresh_partials_only():
    one = tuple(range(8))
    partials = {
        "a": Partial(one, 28, heard_at=100.0),
        "b": Partial(one, 2, heard_at=95.0),
        "dead": Partial((9,) * 8, 72, heard_at=60.0),
    }
    total = room_totals(partials, 100.0, stale_after=30)
    assert total.counts == tuple(2 * x for x in one) and total.votes == 30


def test_when_a_node_tells_its_totals():
    some = (1,) + (0,) * 7
    assert not should_publish(ZERO, None, since_last=99, heartbeat=15, asked=False)
    assert not should_publish(ZERO, None, since_last=99, heartbeat=15, asked=True)
    assert should_publish(some, None, since_last=99, heartbeat=15, asked=False)
    assert should_publish(ZERO, some, since_last=0, heartbeat=15, asked=False)  # it emptied
    assert not should_publish(some, some, since_last=1, heartbeat=15, asked=False)
    assert should_publish(some, some, since_last=1, heartbeat=15, asked=True)
    assert should_publish(some, some, since_last=15, heartbeat=15, asked=False)  # heartbeat
    assert not should_publish(ZERO, ZERO, since_last=99, heartbeat=15, asked=False)


def test_wire_and_back():
    counts = (3, 0, 1, 0, 0, 0, 0, 2)
    body = wire(counts, 9)
    assert body["total"] == 6 and body["votes"] == 9 and body["counts"]["mysterious"] == 2
    assert from_wire(list(counts)) == counts
    for bad in (None, [1] * 7, [1] * 8 + [1], [-1] + [0] * 7, [1.5] + [0] * 7, [True] + [0] * 7):
        assert from_wire(bad) is None
    assert minute_of(125) == 120
