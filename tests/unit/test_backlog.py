"""The bounded hand-over between live stages: the newest items stay, the oldest are dropped."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backlog import Backlog


@given(st.lists(st.sampled_from(["put", "get"]), max_size=200), st.integers(1, 5))
def test_never_holds_more_than_its_capacity_and_keeps_the_newest(ops, capacity):
    backlog: Backlog[int] = Backlog(capacity)
    model: list[int] = []
    n = dropped = 0
    for op in ops:
        if op == "put":
            evicted = backlog.put(n)
            if len(model) == capacity:
                assert evicted == model[0]
                dropped += 1
            else:
                assert evicted is None
            model = (model + [n])[-capacity:]
            n += 1
        else:
            assert backlog.get() == (model.pop(0) if model else None)
        assert len(backlog) == len(model) <= capacity
    assert backlog.high_water <= capacity
    assert backlog.put_count == n
    assert backlog.dropped == dropped


def test_put_returns_what_it_evicted_and_wakes_the_consumer():
    woken = threading.Event()
    backlog: Backlog[str] = Backlog(2, on_put=woken.set)
    assert backlog.put("a") is None and woken.is_set()
    assert backlog.put("b") is None
    assert backlog.put("c") == "a"
    assert backlog.peek() == "b" and len(backlog) == 2
    assert (backlog.dropped, backlog.high_water) == (1, 2)


def test_a_backlog_holds_at_least_one_item():
    with pytest.raises(ValueError):
        Backlog(0)
