"""Freeze & Reveal: the live picture blurred until the creator's reveal goal is reached.

A `engine.hooks.FrameHook` on the normalized top frame, before the lower rungs are scaled
from it, so every rendition, the WebRTC viewers (the same packets), the posters and the
recording carry the blur; moderation sampling runs before it and sees the clear picture.

Cheap by construction: the picture is shrunk by ``factor`` with an area average and scaled
back up bilinearly (libswscale through PyAV's ``reformat``, in C): a strong, smooth blur whose
cost is two scalings of one frame. Revealing is an attribute the event loop sets; the next
frame the encoder thread takes is clear, so everyone sees it within one frame of the flag.
"""

from __future__ import annotations

import av
import numpy as np

from engine.hooks import FrameContext, plane_view


def blur(frame: av.VideoFrame, factor: int = 24) -> av.VideoFrame:
    """A new yuv420p frame: ``frame`` with its detail smaller than ``factor`` pixels gone."""
    if factor < 2:
        raise ValueError("the blur factor is at least 2")
    w, h = frame.width, frame.height
    small = frame.reformat(
        width=max(2, w // factor),
        height=max(2, h // factor),
        format="yuv420p",
        interpolation="AREA",
    )
    return small.reformat(width=w, height=h, format="yuv420p", interpolation="BILINEAR")


def sharpness(luma: np.ndarray) -> float:
    """The variance of the luma's Laplacian (4-neighbour): how much fine detail there is."""
    f = luma.astype(np.float32)
    lap = f[1:-1, :-2] + f[1:-1, 2:] + f[:-2, 1:-1] + f[2:, 1:-1] - 4 * f[1:-1, 1:-1]
    return float(lap.var())


class RevealBlur:
    """Blurs every frame while ``hidden``; the reveal (``reveal()``) clears the next frame."""

    def __init__(self, *, factor: int = 24, hidden: bool = True) -> None:
        self.factor = factor
        self.hidden = hidden
        self.blurred = 0

    def reveal(self) -> None:
        self.hidden = False

    def hide(self) -> None:
        self.hidden = True

    def on_frame(self, frame: av.VideoFrame, ctx: FrameContext) -> av.VideoFrame | None:
        if not self.hidden:
            return None
        self.blurred += 1
        return blur(frame, self.factor)


def luma(frame: av.VideoFrame) -> np.ndarray:
    """A copy of the frame's luma plane (for measuring)."""
    return plane_view(frame, 0).copy()
