"""Frame sampling for moderation: the interval, scene changes, and the hook around them."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.hooks import FrameContext, plane_view, run_hooks
from engine.sampler import FrameSampler, Sample, SamplingPolicy, luma_thumbnail, scene_difference


def flat(value: int, w: int = 1280, h: int = 720) -> av.VideoFrame:
    planes = np.full((h * 3 // 2, w), 128, np.uint8)
    planes[:h] = value
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def thumb(value: float) -> np.ndarray:
    return np.full((18, 32), value, np.float32)


def test_thumbnail_is_the_mean_luma_of_each_cell():
    y = np.zeros((720, 1280), np.uint8)
    y[:, 640:] = 200  # right half bright
    t = luma_thumbnail(y)
    assert t.shape == (18, 32)
    assert np.allclose(t[:, :16], 0) and np.allclose(t[:, 16:], 200)
    with pytest.raises(ValueError):
        luma_thumbnail(np.zeros((10, 10), np.uint8))


def test_first_frame_then_one_per_interval():
    p = SamplingPolicy(interval=1.0, scene_threshold=12, min_gap=0.25)
    reasons = [p.decide(i / 30, thumb(100))[0] for i in range(91)]
    taken = [(i, r) for i, r in enumerate(reasons) if r]
    assert taken == [(0, "first"), (30, "interval"), (60, "interval"), (90, "interval")]


def test_scene_change_is_sampled_at_once_but_not_more_often_than_min_gap():
    p = SamplingPolicy(interval=1.0, scene_threshold=12, min_gap=0.25)
    assert p.decide(0.0, thumb(100))[0] == "first"
    assert p.decide(0.1, thumb(200)) == (None, 100.0)  # a change, but within min_gap
    reason, score = p.decide(0.3, thumb(200))
    assert (reason, score) == ("scene", 100.0)
    assert p.decide(0.4, thumb(205))[0] is None  # small change since the last *sample*
    assert p.decide(0.6, thumb(150))[0] == "scene"


def test_a_slow_drift_is_sampled_once_it_adds_up():
    """Compared with the last sample, not the previous frame: a slow pan still counts."""
    p = SamplingPolicy(interval=100.0, scene_threshold=12, min_gap=0.25)
    p.decide(0.0, thumb(0))
    reasons = [p.decide(i / 30, thumb(i))[0] for i in range(1, 20)]  # +1 level per frame
    assert reasons.index("scene") == 11  # at 12 levels from the sample
    assert scene_difference(thumb(0), thumb(12)) == 12


def test_sampler_hook_sends_scaled_yuv_and_keeps_the_frame():
    got: list[Sample] = []
    sampler = FrameSampler(got.append, interval=1.0, width=320)
    frames = [flat(50)] * 15 + [flat(200)] * 45
    for i, f in enumerate(frames):
        ctx = FrameContext("s1", i, i / 30, 1000.0 + i / 30)
        assert run_hooks([sampler], f, ctx) is f  # an observer never replaces the frame
    assert [(s.seq, s.reason) for s in got] == [(0, "first"), (1, "scene"), (2, "interval")]
    first = got[0]
    assert (first.width, first.height) == (320, 180)
    assert len(first.yuv) == 320 * 180 * 3 // 2
    y = np.frombuffer(first.yuv, np.uint8)[: 320 * 180]
    assert abs(int(y.mean()) - 50) <= 1
    assert got[1].time == pytest.approx(15 / 30) and got[1].received_at == pytest.approx(1000.5)
    assert sampler.by_reason == {"first": 1, "scene": 1, "interval": 1}


def test_hooks_run_in_order_and_may_replace_the_frame():
    seen: list[tuple[str, int]] = []

    class Brighten:
        def on_frame(self, frame, ctx):
            seen.append(("brighten", int(plane_view(frame, 0)[0, 0])))
            return flat(99)

    class Look:
        def on_frame(self, frame, ctx):
            seen.append(("look", int(plane_view(frame, 0)[0, 0])))

    out = run_hooks([Brighten(), Look()], flat(10), FrameContext("s", 0, 0.0, 0.0))
    assert seen == [("brighten", 10), ("look", 99)]
    assert plane_view(out, 0)[0, 0] == 99

    class Shrink:
        def on_frame(self, frame, ctx):
            return flat(1, 640, 360)

    with pytest.raises(ValueError):
        run_hooks([Shrink()], flat(10), FrameContext("s", 0, 0.0, 0.0))
