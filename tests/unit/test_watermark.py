"""The visible watermark: blend arithmetic, placement, copy-on-read-only, and every rung has it."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from engine.hooks import FrameContext, plane_view
from engine.pipeline import StreamPipeline
from engine.watermark import VisibleWatermark, build_overlay, render_rgba
from tests.feed import RUNGS, Collect, FrameTrack, decode

W, H = 1280, 720


def grey(value: int = 100, w: int = W, h: int = H) -> av.VideoFrame:
    planes = np.full((h * 3 // 2, w), 128, np.uint8)
    planes[:h] = value
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def ctx(writable: bool = True) -> FrameContext:
    return FrameContext("s", 0, 0.0, 0.0, writable)


def test_blend_touches_only_the_overlay_rectangle_and_draws_white_text():
    wm = VisibleWatermark(["TeezU", "@alice"], opacity=1.0)
    frame = grey()
    assert wm.on_frame(frame, ctx()) is None  # writable: drawn in place
    ov = wm.overlay_for(W, H)
    ow, oh = ov.size
    y = plane_view(frame, 0)
    inside = y[ov.y : ov.y + oh, ov.x : ov.x + ow]
    outside = y.copy()
    outside[ov.y : ov.y + oh, ov.x : ov.x + ow] = 100
    assert (outside == 100).all()
    assert inside.max() >= 230  # white text (limited range: 235)
    assert inside.min() <= 30  # its dark outline
    # Chroma stays neutral: the mark is white and black only.
    for index in (1, 2):
        c = plane_view(frame, index)
        assert np.abs(c.astype(int) - 128).max() <= 2


def test_opacity_scales_the_mark_and_zero_changes_nothing():
    strong, faint, none = grey(), grey(), grey()
    VisibleWatermark(["TeezU"], opacity=1.0).on_frame(strong, ctx())
    VisibleWatermark(["TeezU"], opacity=0.3).on_frame(faint, ctx())
    VisibleWatermark(["TeezU"], opacity=0.0).on_frame(none, ctx())
    assert (plane_view(none, 0) == 100).all()
    peak = plane_view(strong, 0).max()
    assert 100 < plane_view(faint, 0).max() < peak
    assert plane_view(faint, 0).max() == pytest.approx(100 + 0.3 * (peak - 100), abs=3)


@pytest.mark.parametrize("position", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_positions(position):
    ov = build_overlay(render_rgba(["TeezU", "@bob"], 29), W, H, position=position)
    ow, oh = ov.size
    assert ov.x % 2 == 0 and ov.y % 2 == 0 and ow % 2 == 0 and oh % 2 == 0
    left, top = ov.x < W / 2, ov.y < H / 2
    assert left == position.endswith("left") and top == position.startswith("top")
    assert 0 < ov.x and ov.x + ow < W and 0 < ov.y and ov.y + oh < H


def test_a_frame_it_may_not_write_is_copied():
    wm = VisibleWatermark(["TeezU", "@carol"])
    source = grey()
    out = wm.on_frame(source, ctx(writable=False))
    assert out is not None and out is not source
    assert (plane_view(source, 0) == 100).all()  # the decoder's frame is untouched
    assert plane_view(out, 0).max() > 150
    assert wm.copies == 1


def test_the_overlay_follows_the_picture_size():
    wm = VisibleWatermark(["TeezU", "@dave"])
    big = wm.overlay_for(1280, 720)
    small = wm.overlay_for(854, 480)
    assert small.size[1] < big.size[1]
    assert wm.overlay_for(854, 480) is small  # cached


@pytest.mark.asyncio(loop_scope="session")
async def test_every_rung_carries_the_watermark():
    """Drawn on the top frame before scaling: the lower rung shows it too, scaled."""
    collect = Collect()
    wm = VisibleWatermark(["TeezU", "@erin"], opacity=1.0, size=0.08)
    pipeline = StreamPipeline("wm", RUNGS, [collect], hooks=[wm], gap_fill_after=1e9)
    track = FrameTrack(20, flat=60)
    pipeline.start()
    pipeline.attach(track)
    while track.n < track.count:
        await asyncio.sleep(0.05)
    await pipeline.stop()
    assert pipeline.error is None and wm.frames >= 15
    for rung in RUNGS:
        frames = [y for _, y, _ in decode(collect.packets, rung.name)]
        ov = wm.overlay_for(RUNGS[0].width, RUNGS[0].height)
        sx = rung.width / RUNGS[0].width
        x0, y0 = int(ov.x * sx), int(ov.y * sx)
        for y in frames[5:]:
            corner = y[y0:, x0:]
            rest = y[: y0 - 4, : x0 - 4]
            assert corner.max() > 150, rung.name  # the white text
            assert np.abs(rest.astype(int) - 60).max() < 8, rung.name  # nothing elsewhere
