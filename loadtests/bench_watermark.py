#!/usr/bin/env python3
"""The visible watermark's cost per 1280x720 frame: our numpy blend against FFmpeg's ``overlay``.

Both burn the same RGBA picture (``engine.watermark.render_rgba``: mark + handle) at the same
place into the same yuv420p frames, in this process, one after the other:

* **numpy (ours)**: ``VisibleWatermark.on_frame`` on a writable frame: the precomputed per-plane
  fixed-point blend of the overlay's rectangle only;
* **numpy + copy**: the same on a frame it may not write into (the decoder's own): a full
  frame copy first, which is what a same-size publisher costs;
* **ffmpeg overlay**: a cached PyAV filter graph ``[main][logo]overlay=x:y:format=yuv420``,
  the RGBA logo pushed with every frame (a graph needs a frame per input per output frame).

    .venv/bin/python loadtests/bench_watermark.py [--frames 600]
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.hooks import FrameContext  # noqa: E402
from engine.watermark import VisibleWatermark, render_rgba  # noqa: E402

W, H = 1280, 720


def frames(n: int) -> list[av.VideoFrame]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(min(n, 30)):
        planes = rng.integers(16, 235, (H * 3 // 2, W), dtype=np.uint8)
        out.append(av.VideoFrame.from_ndarray(planes, format="yuv420p"))
    return [out[i % len(out)] for i in range(n)]


def run_numpy(n: int, writable: bool) -> float:
    wm = VisibleWatermark(["TeezU", "@benchmark_creator"])
    src = frames(n)
    ctx = FrameContext("bench", 0, 0.0, 0.0, writable)
    wm.on_frame(src[0], ctx)
    t0 = time.thread_time()
    for f in src:
        wm.on_frame(f, ctx)
    return (time.thread_time() - t0) / n * 1e6


def run_filter(n: int) -> float:
    wm = VisibleWatermark(["TeezU", "@benchmark_creator"])
    ov = wm.overlay_for(W, H)
    logo = render_rgba(wm.lines, round(H * wm.size))
    logo_frame = av.VideoFrame.from_image(logo)  # rgba
    graph = av.filter.Graph()
    main = graph.add_buffer(width=W, height=H, format="yuv420p", time_base=Fraction(1, 30))
    top = graph.add_buffer(
        width=logo.width, height=logo.height, format="rgba", time_base=Fraction(1, 30)
    )
    overlay = graph.add("overlay", f"x={ov.x}:y={ov.y}:format=yuv420")
    sink = graph.add("buffersink")
    main.link_to(overlay, 0, 0)
    top.link_to(overlay, 0, 1)
    overlay.link_to(sink)
    graph.configure()
    src = frames(n)
    t0 = time.thread_time()
    for i, f in enumerate(src):
        f.pts = i
        f.time_base = Fraction(1, 30)
        logo_frame.pts = i
        logo_frame.time_base = Fraction(1, 30)
        main.push(f)
        top.push(logo_frame)
        sink.pull()
    return (time.thread_time() - t0) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=600)
    args = ap.parse_args(argv)
    rows = {
        "numpy blend (ours), writable frame": run_numpy(args.frames, True),
        "numpy blend + full frame copy": run_numpy(args.frames, False),
        "ffmpeg overlay filter graph": run_filter(args.frames),
    }
    print(f"visible watermark on {W}x{H} yuv420p, {args.frames} frames, CPU us per frame:")
    for name, us in rows.items():
        print(f"  {name:<40}{us:>9.1f}")
    ours, ref = rows["numpy blend + full frame copy"], rows["ffmpeg overlay filter graph"]
    print(f"ratio ours (with copy) / ffmpeg overlay: {ours / ref:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
