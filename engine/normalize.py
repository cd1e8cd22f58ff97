"""Bring every decoded picture to the rendition's fixed size and pixel format.

WebRTC publishers change resolution mid-stream (the browser ramps 640x360 -> 1280x720 as the
bandwidth estimate grows), while a rendition's encoder has one size for life. Frames are scaled
to fit and padded (aspect kept) by an FFmpeg filter graph, rebuilt only when the input geometry
changes. The decision of what to do is a pure function (:func:`plan`) so it can be tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import av.filter


@dataclass(frozen=True)
class Fit:
    """How a source picture maps into the output canvas."""

    width: int  # scaled picture size, even
    height: int
    x: int  # top-left offset inside the canvas, even
    y: int

    @property
    def pads(self) -> bool:
        return self.x > 0 or self.y > 0


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def plan(src_w: int, src_h: int, dst_w: int, dst_h: int) -> Fit:
    """Largest even-sized picture of the source's aspect that fits ``dst``, centered."""
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"invalid source size {src_w}x{src_h}")
    scale = min(dst_w / src_w, dst_h / src_h)
    w = min(dst_w, _even(src_w * scale))
    h = min(dst_h, _even(src_h * scale))
    x = ((dst_w - w) // 2) & ~1
    y = ((dst_h - h) // 2) & ~1
    return Fit(w, h, x, y)


def passthrough(src_w: int, src_h: int, src_format: str, dst_w: int, dst_h: int) -> bool:
    """True when a frame already has the output geometry and format (no copy is made then)."""
    return (src_w, src_h, src_format) == (dst_w, dst_h, "yuv420p")


class FrameNormalizer:
    """Scales/pads frames to ``width``x``height`` yuv420p; one per encoder thread."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self._graph: av.filter.Graph | None = None
        self._geometry: tuple[int, int, str] | None = None
        self.reconfigurations = 0

    def normalize(self, frame: av.VideoFrame) -> av.VideoFrame:
        """Return a frame of the output geometry: ``frame`` itself when it already fits.

        The caller owns the returned frame; when a new frame is built the input is not modified.
        """
        fmt = frame.format.name
        if passthrough(frame.width, frame.height, fmt, self.width, self.height):
            return frame
        geometry = (frame.width, frame.height, fmt)
        if geometry != self._geometry:
            self._graph = self._build(frame)
            self._geometry = geometry
            self.reconfigurations += 1
        assert self._graph is not None
        self._graph.push(frame)
        out = self._graph.pull()
        assert isinstance(out, av.VideoFrame)
        return out

    def _build(self, frame: av.VideoFrame) -> av.filter.Graph:
        fit = plan(frame.width, frame.height, self.width, self.height)
        graph = av.filter.Graph()
        src = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format.name,
            time_base=frame.time_base or Fraction(1, 90000),
        )
        chain = [src, graph.add("scale", f"{fit.width}:{fit.height}:flags=bicubic")]
        if fit.pads:
            chain.append(graph.add("pad", f"{self.width}:{self.height}:{fit.x}:{fit.y}:black"))
        chain.append(graph.add("format", "yuv420p"))
        chain.append(graph.add("buffersink"))
        for a, b in zip(chain, chain[1:], strict=False):
            a.link_to(b)
        graph.configure()
        return graph
