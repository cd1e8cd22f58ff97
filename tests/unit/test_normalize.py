"""Frame normalization: fit decisions (pure) and the scale/pad graph on real frames."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.normalize import Fit, FrameNormalizer, passthrough, plan


@pytest.mark.parametrize(
    ("src", "fit"),
    [
        ((1280, 720), Fit(1280, 720, 0, 0)),
        ((640, 360), Fit(1280, 720, 0, 0)),  # upscale, same aspect
        ((1920, 1080), Fit(1280, 720, 0, 0)),
        ((640, 480), Fit(960, 720, 160, 0)),  # 4:3 pillarboxed
        ((720, 1280), Fit(404, 720, 438, 0)),  # portrait phone: 405 px rounded to even
        ((1280, 540), Fit(1280, 540, 0, 90)),  # ultrawide letterboxed
        ((321, 241), Fit(960, 720, 160, 0)),  # odd sizes come out even
    ],
)
def test_plan(src, fit):
    assert plan(*src, 1280, 720) == fit


def test_plan_is_even_and_inside():
    for w in range(2, 2000, 37):
        for h in range(2, 2000, 53):
            f = plan(w, h, 1280, 720)
            assert f.width % 2 == f.height % 2 == f.x % 2 == f.y % 2 == 0
            assert f.x + f.width <= 1280 and f.y + f.height <= 720


def test_plan_rejects_empty_source():
    with pytest.raises(ValueError):
        plan(0, 720, 1280, 720)


def test_passthrough_only_for_exact_geometry_and_format():
    assert passthrough(1280, 720, "yuv420p", 1280, 720)
    assert not passthrough(1280, 720, "nv12", 1280, 720)
    assert not passthrough(640, 360, "yuv420p", 1280, 720)


def _frame(w: int, h: int, luma: int) -> av.VideoFrame:
    planes = np.full((h * 3 // 2, w), 128, dtype=np.uint8)
    planes[:h] = luma
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    frame.pts = 1234
    return frame


def test_normalizer_pads_with_black_and_keeps_input_intact():
    norm = FrameNormalizer(1280, 720)
    src = _frame(640, 480, 200)
    out = norm.normalize(src)
    assert out is not src
    assert (out.width, out.height, out.format.name) == (1280, 720, "yuv420p")
    y = out.to_ndarray()[:720]
    assert y[360, 640] > 190  # picture in the middle
    assert y[360, 50] < 20 and y[360, 1230] < 20  # black pillars
    # The input frame, which another consumer may hold, is untouched.
    assert (src.width, src.height, src.pts) == (640, 480, 1234)
    assert int(src.to_ndarray()[0, 0]) == 200


def test_normalizer_rebuilds_only_on_geometry_change():
    norm = FrameNormalizer(1280, 720)
    for size in [(640, 360), (640, 360), (960, 540), (960, 540), (640, 360)]:
        assert norm.normalize(_frame(*size, 100)).width == 1280
    assert norm.reconfigurations == 3


def test_normalizer_passes_fitting_frames_through_without_copy():
    norm = FrameNormalizer(1280, 720)
    src = _frame(1280, 720, 50)
    assert norm.normalize(src) is src
