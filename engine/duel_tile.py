"""The duel's picture-in-picture tile: the other creator's live picture, small, in a corner
of this broadcast's picture, so HLS and WebRTC viewers of either room see both creators.

Two parts, both cheap and pure of I/O:

* :meth:`DuelTile.offer` takes a frame of the *other* broadcast and scales it to the tile's
  size once (libswscale through PyAV's ``reformat``), keeping only the newest tile's planes:
  one scale per source frame per duel, however many renditions or viewers there are;
* :meth:`DuelTile.on_frame` (a `engine.hooks.FrameHook`) pastes the newest tile into the
  normalized top frame before the lower rungs are scaled from it, so every rendition has it.

The two may run on different threads (each broadcast's encoder thread): the tile is handed
over by replacing one reference, which Python makes atomic, and is never written after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from engine.hooks import FrameContext, plane_view
from engine.watermark import copy_frame

Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


def _even(v: float) -> int:
    return max(2, int(v) // 2 * 2)


@dataclass(frozen=True, slots=True)
class TileBox:
    """Where the tile goes in a picture (all even, for yuv420p's half-size chroma)."""

    x: int
    y: int
    width: int
    height: int


def tile_box(
    width: int, height: int, *, fraction: float = 0.3, corner: Corner = "top-right"
) -> TileBox:
    """The tile's rectangle: ``fraction`` of the picture's width, the picture's aspect ratio,
    a margin of 2 % of the height from the corner."""
    if not 0 < fraction <= 0.5:
        raise ValueError("the tile takes more than 0 and at most half of the width")
    w = _even(width * fraction)
    h = _even(w * height / width)
    margin = _even(height * 0.02)
    x = margin if corner.endswith("left") else _even(width - w - margin)
    y = margin if corner.startswith("top") else _even(height - h - margin)
    return TileBox(x, y, w, h)


@dataclass(frozen=True, slots=True)
class Tile:
    """A scaled picture of the other creator: yuv420p planes of the box's size."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    at: float  # time.monotonic() when it was scaled


def scale_tile(frame: av.VideoFrame, box: TileBox, now: float | None = None) -> Tile:
    """Scale ``frame`` (any size and format) to the tile, as owned arrays."""
    small = frame.reformat(width=box.width, height=box.height, format="yuv420p")
    y, u, v = (plane_view(small, i).copy() for i in range(3))
    return Tile(y, u, v, at=time.monotonic() if now is None else now)


def paste(frame: av.VideoFrame, tile: Tile, box: TileBox, border: int = 2) -> None:
    """Draw ``tile`` into a writable yuv420p ``frame`` at ``box``, with a light border."""
    y = plane_view(frame, 0)
    x0, y0, w, h = box.x, box.y, box.width, box.height
    if border:
        b = border
        y[max(0, y0 - b) : y0 + h + b, max(0, x0 - b) : x0 + w + b] = 235
    y[y0 : y0 + h, x0 : x0 + w] = tile.y
    plane_view(frame, 1)[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = tile.u
    plane_view(frame, 2)[y0 // 2 : (y0 + h) // 2, x0 // 2 : (x0 + w) // 2] = tile.v


class DuelTile:
    """The other creator's tile in this broadcast's frames, while a duel lasts.

    A tile older than ``stale_after`` seconds (the other broadcast stalled or ended) is not
    drawn: the picture is better without a frozen corner.
    """

    def __init__(
        self,
        width: int,
        height: int,
        *,
        fraction: float = 0.3,
        corner: Corner = "top-right",
        stale_after: float = 2.0,
    ) -> None:
        self.box = tile_box(width, height, fraction=fraction, corner=corner)
        self.size = (width, height)
        self.stale_after = stale_after
        self.tile: Tile | None = None
        self.scaled = 0  # tiles made (one per frame of the other broadcast)
        self.drawn = 0

    def offer(self, other: av.VideoFrame, now: float | None = None) -> None:
        """A frame of the other broadcast (its encoder thread): scaled once, kept as newest."""
        self.tile = scale_tile(other, self.box, now)
        self.scaled += 1

    def on_frame(
        self, frame: av.VideoFrame, ctx: FrameContext, now: float | None = None
    ) -> av.VideoFrame | None:
        tile = self.tile
        if tile is None or (frame.width, frame.height) != self.size:
            return None
        if (time.monotonic() if now is None else now) - tile.at > self.stale_after:
            return None
        replaced = None
        if not ctx.writable:
            frame = replaced = copy_frame(frame)
        paste(frame, tile, self.box)
        self.drawn += 1
        return replaced
