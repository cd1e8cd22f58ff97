"""The duel's picture-in-picture tile as pure frame functions: the other creator's picture
(a moving counter drawn as bars) scaled once per source frame, pasted into this broadcast's
frames, and still readable after an H.264 encode and decode with PyAV."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from engine.duel_tile import DuelTile, tile_box
from engine.hooks import FrameContext, plane_view

BITS = 8


def counter_frame(n: int, width: int = 640, height: int = 360) -> av.VideoFrame:
    """The other creator's picture: ``n`` as 8 vertical bars (white = 1), on grey."""
    rgb = np.full((height, width, 3), 90, np.uint8)
    bar = width // BITS
    for i in range(BITS):
        if n >> (BITS - 1 - i) & 1:
            rgb[:, i * bar : (i + 1) * bar] = 250
        else:
            rgb[:, i * bar : (i + 1) * bar] = 10
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def main_frame(width: int = 640, height: int = 360) -> av.VideoFrame:
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def read_counter(frame: av.VideoFrame, box) -> int:
    y = plane_view(frame, 0)[box.y : box.y + box.height, box.x : box.x + box.width]
    bar = box.width / BITS
    n = 0
    for i in range(BITS):
        x = int((i + 0.5) * bar)
        n = n << 1 | int(y[box.height // 4 : -box.height // 4, x - 2 : x + 2].mean() > 128)
    return n


CTX = FrameContext("s", 0, 0.0, 0.0, writable=False)


def test_the_tile_box_is_even_and_inside_the_picture():
    for w, h in ((640, 360), (1280, 720), (426, 240)):
        for corner in ("top-left", "top-right", "bottom-left", "bottom-right"):
            b = tile_box(w, h, corner=corner)
            assert all(v % 2 == 0 for v in (b.x, b.y, b.width, b.height))
            assert 0 <= b.x and b.x + b.width <= w and 0 <= b.y and b.y + b.height <= h
    with pytest.raises(ValueError):
        tile_box(640, 360, fraction=0.8)


def test_the_tile_shows_the_other_creators_newest_frame_in_encoded_output():
    tile = DuelTile(640, 360, fraction=0.3)
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 640, 360, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency"}
    decoder = av.CodecContext.create("h264", "r")
    shown, read = [], []
    for slot in range(40):
        if slot % 3 == 0:  # the other broadcast's frames arrive at their own pace
            tile.offer(counter_frame(slot // 3 * 7 % 256), now=float(slot))
        frame = main_frame()
        out = tile.on_frame(frame, CTX, now=float(slot)) or frame
        assert out is not frame  # the decoder's frame is never written into
        shown.append(slot // 3 * 7 % 256)
        out.pts = slot
        for packet in encoder.encode(out):
            read += [read_counter(f, tile.box) for f in decoder.decode(packet)]
    for packet in encoder.encode(None):
        read += [read_counter(f, tile.box) for f in decoder.decode(packet)]
    assert read == shown  # every encoded frame carries the newest tile, read back exactly
    assert tile.scaled == 14 and tile.drawn == 40  # one scaling per source frame, not per use


def test_a_stale_or_missing_tile_is_not_drawn():
    tile = DuelTile(640, 360)
    assert tile.on_frame(main_frame(), CTX) is None
    tile.offer(counter_frame(5), now=0.0)
    assert tile.on_frame(main_frame(), CTX, now=1.0) is not None
    assert tile.on_frame(main_frame(), CTX, now=10.0) is None  # the other side stalled
    assert tile.on_frame(main_frame(320, 180), CTX, now=0.5) is None  # another geometry
