"""Freeze & Reveal's blur as a pure frame function: the blurred picture keeps a small
fraction of the clear one's detail (Laplacian variance), a revealed one is untouched, and a
hook before it (moderation sampling) still sees the clear picture."""

from __future__ import annotations

import av
import numpy as np

from engine.hooks import FrameContext, run_hooks
from engine.reveal import RevealBlur, blur, luma, sharpness

CTX = FrameContext("s", 0, 0.0, 0.0)


def detailed(width: int = 1280, height: int = 720) -> av.VideoFrame:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    rgb[::40] = 255  # lines: edges as well as noise
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


class Sampler:
    """What moderation sampling does: it looks at the frame it is given."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def on_frame(self, frame: av.VideoFrame, ctx: FrameContext) -> None:
        self.seen.append(sharpness(luma(frame)))


def test_the_blur_removes_the_detail_of_every_rung_size():
    for width, height in ((1280, 720), (640, 360), (426, 240)):
        clear = detailed(width, height)
        blurred = blur(clear)
        assert (blurred.width, blurred.height, blurred.format.name) == (width, height, "yuv420p")
        ratio = sharpness(luma(blurred)) / sharpness(luma(clear))
        assert ratio < 0.01, (width, ratio)  # under 1 % of the clear picture's detail
        # the picture's overall brightness stays (it is blurred, not blacked out)
        assert abs(luma(blurred).mean() - luma(clear).mean()) < 3


def test_hidden_then_revealed_and_moderation_sees_the_clear_frame():
    hook, sampler = RevealBlur(), Sampler()
    frame = detailed()
    clear = sharpness(luma(frame))
    out = run_hooks([sampler, hook], frame, CTX)  # sampling comes before the blur
    assert sampler.seen == [clear]
    assert sharpness(luma(out)) < clear * 0.01
    hook.reveal()  # the goal is reached: the very next frame is clear
    out = run_hooks([sampler, hook], frame, CTX)
    assert out is frame and hook.blurred == 1
