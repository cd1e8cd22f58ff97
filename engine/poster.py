"""Poster images (JPEG) of a live stream for stream cards, made in the encoder thread.

A poster is a public preview: for a stream marked explicit it is blurred beyond recognition
(scaled down to a few dozen pixels and back up), so stream cards only ever show safe content.
"""

from __future__ import annotations

from fractions import Fraction

import av


class PosterMaker:
    """Makes a JPEG from a frame at most every ``interval`` seconds of stream time."""

    BLUR_WIDTH = 24  # pixels across a blurred poster's source: shapes, no detail

    def __init__(self, width: int = 640, height: int = 360, interval: float = 4.0) -> None:
        self.width = width
        self.height = height
        self.interval = interval
        self._next_at = 0.0
        self.made = 0
        self.blurred = 0

    def due(self, t: float) -> bool:
        return t >= self._next_at

    def refresh(self) -> None:
        """Make the next poster at the next frame (the picture's status changed)."""
        self._next_at = float("-inf")

    def make(self, frame: av.VideoFrame, t: float, *, blur: bool = False) -> bytes:
        """JPEG bytes of ``frame`` scaled to the poster size (the frame is not modified)."""
        self._next_at = t + self.interval
        if blur:
            tiny_h = max(2, round(self.BLUR_WIDTH * frame.height / frame.width / 2) * 2)
            frame = frame.reformat(width=self.BLUR_WIDTH, height=tiny_h, format="yuv420p")
            self.blurred += 1
        self.made += 1
        return jpeg(frame, self.width, self.height)


def jpeg(frame: av.VideoFrame, width: int, height: int, quality: int = 5) -> bytes:
    """JPEG bytes of ``frame`` scaled to ``width`` x ``height`` (the frame is not modified).

    ``quality`` is MJPEG's qscale: 2 (best) to 31.
    """
    # A fresh context per picture: every few seconds at most, and JPEG has no state to carry.
    ctx = av.CodecContext.create("mjpeg", "w")
    assert isinstance(ctx, av.VideoCodecContext)
    ctx.width, ctx.height = width, height
    ctx.pix_fmt = "yuvj420p"
    ctx.time_base = Fraction(1, 1)
    ctx.options = {"qscale": str(quality)}
    ctx.open()
    small = frame.reformat(width=width, height=height, format="yuvj420p")
    small.pts = 0
    packets = ctx.encode(small) + ctx.encode(None)
    return bytes(packets[0])
