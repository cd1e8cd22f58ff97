"""The live-health rates (api/streams/health.py)."""

from __future__ import annotations

from api.streams.health import MIN_WINDOW, Sample, pick_baseline, rates


def test_rates_between_two_samples() -> None:
    r = rates(Sample(10.0, 1_000_000, 300, 2), Sample(12.0, 1_750_000, 360, 3))
    assert (r.bitrate_kbps, r.frame_rate, r.dropped_per_second, r.window_seconds) == (
        3000.0,
        30.0,
        0.5,
        2.0,
    )


def test_counters_that_went_backwards_give_zero_not_negative() -> None:
    r = rates(Sample(0.0, 500, 10, 5), Sample(1.0, 100, 5, 1))
    assert (r.bitrate_kbps, r.frame_rate, r.dropped_per_second) == (0.0, 0.0, 0.0)


def test_baseline_is_the_last_poll_unless_it_is_too_recent() -> None:
    start, now = Sample(0.0, 0, 0, 0), Sample(10.0, 9, 9, 0)
    last = Sample(10.0 - MIN_WINDOW, 5, 5, 0)
    assert pick_baseline(last, start, now) is last
    assert pick_baseline(Sample(9.9, 8, 8, 0), start, now) is start
    assert pick_baseline(None, start, now) is start
