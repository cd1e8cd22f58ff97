"""Send limits, slow-mode holds and batched fan-out (in-process parts, no network)."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.chat.events import MESSAGES
from api.chat.fanout import RoomFanout, RoomRate
from api.chat.ratelimit import LocalLimiter, admit


@given(
    st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=1, max_size=80),
    st.integers(min_value=1, max_value=10),
    st.floats(min_value=0.5, max_value=20),
)
def test_no_window_admits_more_than_the_limit(gaps, limit, window):
    state, now, admitted = None, 0.0, []
    for gap in gaps:
        now += gap / 10
        state, wait = admit(state, now, limit=limit, window=window)
        if wait == 0:
            admitted.append(now)
        else:
            assert 0 < wait <= window
    # any span of `window` seconds starting at an admitted event holds at most 2*limit: the
    # window restarts at the first event after it closed, so two windows may touch
    for i, t in enumerate(admitted):
        assert sum(1 for u in admitted[i:] if u < t + window) <= 2 * limit


async def test_local_limiter_window_and_hold():
    clock = [0.0]
    limiter = LocalLimiter(clock=lambda: clock[0])
    assert [await limiter.hit("u", limit=2, window=10) for _ in range(3)] == [0, 0, 10]
    clock[0] = 4
    assert await limiter.hit("u", limit=2, window=10) == 6
    assert await limiter.hit("v", limit=2, window=10) == 0  # keys are separate
    clock[0] = 10
    assert await limiter.hit("u", limit=2, window=10) == 0  # a new window opened
    assert await limiter.hold("s", 5) == 0
    clock[0] = 12
    assert await limiter.hold("s", 5) == 3
    clock[0] = 15
    assert await limiter.hold("s", 5) == 0


async def test_fanout_batches_per_room_and_keeps_order():
    sent: list[tuple[str, str, list[str]]] = []

    async def emit(event, data, room):
        sent.append((event, room, [m["n"] for m in data["messages"]]))

    async def until(n):
        for _ in range(200):
            if len(sent) >= n:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(sent)

    # horizon 0.5 s: a room is busy above 1 message per 0.2 s tick, i.e. from the 3rd message
    # within a few ms on
    fanout = RoomFanout(emit, interval=0.2, horizon=0.5)
    fanout.start()
    try:
        # a busy room's first message after a quiet tick goes out at once; what follows within
        # its tick waits
        for n in range(4):
            await fanout.publish("a", "A", {"n": str(n)})
        await fanout.publish("b", "B", {"n": "x"})  # another room keeps its own tick and rate
        assert sent == [(MESSAGES, "a", ["0"]), (MESSAGES, "a", ["1"]), (MESSAGES, "b", ["x"])]
        await until(4)
        assert sent[3] == (MESSAGES, "a", ["2", "3"])
        await fanout.publish("a", "A", {"n": "4"})  # within the tick of the batch just sent
        await fanout.publish("a", "A", {"n": "5"})
        assert len(sent) == 4
        await until(5)
        assert sent[4] == (MESSAGES, "a", ["4", "5"])
        await fanout.publish("a", "A", {"n": "6"})
        await fanout.flush("a")  # an event about to follow goes after this message
        assert sent[5] == (MESSAGES, "a", ["6"])
    finally:
        await fanout.close()


async def test_a_quiet_room_never_waits_for_a_tick():
    sent = []

    async def emit(event, data, room):
        sent.append([m["n"] for m in data["messages"]])

    # two messages within a tick, but the room's rate (2 in a second) is below one per tick
    fanout = RoomFanout(emit, interval=0.2, horizon=1.0)
    fanout.start()
    try:
        await fanout.publish("a", "A", {"n": 1})
        await fanout.publish("a", "A", {"n": 2})
        assert sent == [[1], [2]]
    finally:
        await fanout.close()


def test_a_room_rate_counts_the_last_horizon():
    rate = RoomRate()
    assert rate.hit(0.0, 1.0) == 1.0
    assert rate.hit(0.0, 1.0) == 2.0
    assert rate.hit(1.0, 1.0) == pytest.approx(2 / math.e + 1)  # decayed by e over a horizon
    for i in range(1, 201):  # steady 50/s for 4 s
        r = rate.hit(1.0 + i / 50, 1.0)
    assert r == pytest.approx(50, rel=0.05)


async def test_fanout_without_interval_sends_each_message_at_once():
    sent = []

    async def emit(event, data, room):
        sent.append(data)

    fanout = RoomFanout(emit, interval=0)
    fanout.start()
    await fanout.publish("a", "A", {"n": 1})
    await fanout.publish("a", "A", {"n": 2})
    assert sent == [
        {"streamId": "A", "messages": [{"n": 1}]},
        {"streamId": "A", "messages": [{"n": 2}]},
    ]
    await fanout.close()
