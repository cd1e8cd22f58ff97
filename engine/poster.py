"""Poster images (JPEG) of a live stream for stream cards, made in the encoder thread."""

from __future__ import annotations

from fractions import Fraction

import av


class PosterMaker:
    """Makes a JPEG from a frame at most every ``interval`` seconds of stream time."""

    def __init__(self, width: int = 640, height: int = 360, interval: float = 4.0) -> None:
        self.width = width
        self.height = height
        self.interval = interval
        self._next_at = 0.0
        self.made = 0

    def due(self, t: float) -> bool:
        return t >= self._next_at

    def make(self, frame: av.VideoFrame, t: float) -> bytes:
        """JPEG bytes of ``frame`` scaled to the poster size (the frame is not modified)."""
        self._next_at = t + self.interval
        # A fresh context per poster: every few seconds, and JPEG has no state to carry over.
        ctx = av.CodecContext.create("mjpeg", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = self.width, self.height
        ctx.pix_fmt = "yuvj420p"
        ctx.time_base = Fraction(1, 1)
        ctx.options = {"qscale": "5"}
        ctx.open()
        small = frame.reformat(width=self.width, height=self.height, format="yuvj420p")
        small.pts = 0
        packets = ctx.encode(small) + ctx.encode(None)
        self.made += 1
        return bytes(packets[0])
