#!/usr/bin/env python3
"""On-frame moderation: worker throughput, and decision latency with live streams.

Two measurements, each printed with the machine and how busy it was:

1. **Throughput** (sampled frames per second per worker). A real ``ModerationPool`` (NudeNet's
   ``320n.onnx`` on onnxruntime in spawned processes, one thread each) is kept saturated with
   320x180 samples cut from the benchmark clip, from three streams, for ``--throughput-seconds``;
   once with each worker count of ``--workers`` (e.g. ``1,2``).

2. **Decision latency with ``--streams`` live streams**. Each stream is a real
   ``StreamPipeline`` (the ladder of ``TEEZU_RENDITIONS`` or ``--rungs``, HLS output to a temp
   dir, the visible watermark hook) fed the decoded clip at 30 frames per second, real-time
   paced, with moderation sampling (``TEEZU_MODERATION_*``: 1 per second plus scene changes)
   into one shared pool. Latency is what the product cares about: from the moment a frame
   entered the pipeline (its reader got it) to the policy's decision on it, p50/p99/max; plus
   samples dropped when workers lag, and whether every ladder kept real time (frames dropped
   by the encoder backlog).

The decision is the real ``decide()`` with the default policy; nothing is written to a database
(a decision's DB row and actions come after the decision this measures).

    .venv/bin/python loadtests/bench_moderation.py                     # 3 streams, 30 s
    .venv/bin/python loadtests/bench_moderation.py --streams 1 --burner 1  # a core taken
    .venv/bin/python loadtests/bench_moderation.py --seconds 2 --throughput-seconds 2 \\
        --rungs 240p --workers 1                                        # CI smoke
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import psutil
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.moderation.policy import decide, load_policy  # noqa: E402
from engine.encoder import ladder  # noqa: E402
from engine.pipeline import StreamPipeline  # noqa: E402
from engine.sampler import FrameSampler, Sample  # noqa: E402
from engine.watermark import for_creator  # noqa: E402
from hls.output import HlsOutput  # noqa: E402
from live.broadcasts import assemble  # noqa: E402
from loadtests.bench_transcode import ensure_clip, machine_info, make_config  # noqa: E402
from loadtests.burner import cpu_burner  # noqa: E402
from loadtests.common import percentile, write_report  # noqa: E402
from teezu.settings import Settings  # noqa: E402
from teezu.storage import LocalStorage  # noqa: E402
from workers.moderation import ModerationPool, Result  # noqa: E402

FPS = 30


def decoded_frames(clip: Path, count: int) -> list[av.VideoFrame]:
    with av.open(str(clip)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.reformat(format="yuv420p"))
            if len(frames) >= count:
                break
    return frames


# --------------------------------------------------------------------------- throughput


async def throughput(
    settings: Settings, samples: list[Sample], workers: int, seconds: float
) -> dict[str, Any]:
    pool = ModerationPool(settings.moderation_detector, workers=workers, per_stream=4)
    pids = await pool.start()
    procs = [psutil.Process(pid) for pid in set(pids)]
    cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
    done: list[Result] = []
    streams = ["s0", "s1", "s2"]
    t0 = time.monotonic()
    i = 0
    # Keep every stream's queue full: a new sample whenever one is judged.
    while time.monotonic() - t0 < seconds:
        for s in streams:
            while len(pool.queue_of(s).samples) < pool.per_stream:
                sample = samples[i % len(samples)]
                pool.submit(
                    Sample(s, i, i / FPS, time.monotonic(), sample.width, sample.height,
                           sample.yuv, "interval", 0.0),
                    done.append,
                )  # fmt: skip
                i += 1
        await asyncio.sleep(0.005)
    counted = len(done)
    wall = time.monotonic() - t0
    cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - cpu0
    await pool.close()
    inference = [r.analysis.inference_ms for r in done if r.analysis]
    return {
        "workers": workers,
        "seconds": wall,
        "judged": counted,
        "per_second": counted / wall,
        "per_second_per_worker": counted / wall / workers,
        "worker_cpu_per_frame_ms": 1000 * cpu / max(1, counted),
        "inference_p50_ms": statistics.median(inference) if inference else float("nan"),
        "per_worker": dict(pool.stats.per_worker),
    }


# --------------------------------------------------------------------------- live streams


class LoopTrack(MediaStreamTrack):
    """The decoded clip, looped, at 30 frames per second of wall clock (a live camera).

    Each track has its own frame objects, made before the run: nothing but pacing and
    timestamps happens on the event loop while it is measured.
    """

    kind = "video"

    def __init__(self, frames: list[av.VideoFrame], seconds: float) -> None:
        super().__init__()
        self.frames = [av.VideoFrame.from_ndarray(f.to_ndarray(), format="yuv420p") for f in frames]
        self.total = int(seconds * FPS)
        self.n = 0
        self.start: float | None = None
        self.finished = asyncio.Event()

    async def recv(self) -> av.VideoFrame:
        if self.n >= self.total:
            self.finished.set()
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        wait = self.start + self.n / FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = self.frames[self.n % len(self.frames)]
        frame.pts = self.n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self.n += 1
        return frame


@dataclass
class StreamRun:
    name: str
    pipeline: StreamPipeline
    track: LoopTrack
    output: HlsOutput
    latencies_ms: list[float] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)


async def live(
    settings: Settings,
    frames: list[av.VideoFrame],
    streams: int,
    seconds: float,
    rungs: list[str] | None,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    policy = load_policy(settings.moderation_policy)
    pool = ModerationPool(
        settings.moderation_detector,
        workers=settings.moderation_workers,
        per_stream=settings.moderation_queue_per_stream,
    )
    pids = await pool.start()
    procs = [psutil.Process(pid) for pid in set(pids)]
    rung_settings = [r for r in ladder(settings) if rungs is None or r.name in rungs]
    runs: list[StreamRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-moderation-") as tmp:
        for k in range(streams):
            name = f"stream{k}"

            def judged(result: Result, run_index: int = k) -> None:
                run = runs[run_index]
                if result.analysis is None:
                    return
                d = decide(policy, "adult", result.analysis.detections, "public")
                run.latencies_ms.append((time.monotonic() - result.sample.received_at) * 1000)
                run.actions[d.action] = run.actions.get(d.action, 0) + 1

            def sink(sample: Sample, on_result=judged) -> None:  # encoder thread
                loop.call_soon_threadsafe(pool.submit, sample, on_result)

            sampler = FrameSampler(
                sink,
                interval=settings.moderation_interval,
                scene_threshold=settings.moderation_scene_threshold,
                min_gap=settings.moderation_min_gap,
                width=settings.moderation_sample_width,
            )
            output, _, pipeline = assemble(  # as the node's broadcasts build it
                name,
                settings,
                LocalStorage(Path(tmp)),
                loop=loop,
                hooks=[sampler, for_creator(f"creator{k}", settings)],
                rungs=rung_settings,
            )
            runs.append(StreamRun(name, pipeline, LoopTrack(frames, seconds), output))
        me = psutil.Process()
        cpu0 = sum(me.cpu_times()[:2]) + sum(sum(p.cpu_times()[:2]) for p in procs)
        load0 = os.getloadavg()
        t0 = time.monotonic()
        for run in runs:
            await run.output.start()
            run.pipeline.start()
            run.pipeline.attach(run.track)
        await asyncio.gather(*(run.track.finished.wait() for run in runs))
        for run in runs:
            await run.pipeline.stop()
        await pool.idle()
        wall = time.monotonic() - t0
        cpu = sum(me.cpu_times()[:2]) + sum(sum(p.cpu_times()[:2]) for p in procs) - cpu0
    await pool.close()
    latencies = [ms for run in runs for ms in run.latencies_ms]
    return {
        "streams": streams,
        "seconds": seconds,
        "rungs": [r.name for r in rung_settings],
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_stream_per_media_s": cpu / streams / seconds,
        "load_avg_start": load0,
        "decisions": len(latencies),
        "decisions_per_stream_per_s": len(latencies) / streams / seconds,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "latency_max_ms": max(latencies) if latencies else float("nan"),
        "samples": pool.stats.submitted,
        "dropped": pool.stats.dropped,
        "superseded": pool.stats.superseded,
        "frames_dropped_by_encoder_backlog": sum(
            r.pipeline.stats.video_frames_dropped for r in runs
        ),
        "frames_in": sum(r.pipeline.stats.video_frames_in for r in runs),
        "actions": {r.name: r.actions for r in runs},
        "errors": [repr(r.pipeline.error) for r in runs if r.pipeline.error is not None],
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--streams", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0, help="live part, per stream")
    ap.add_argument("--throughput-seconds", type=float, default=10.0)
    ap.add_argument("--workers", default="1,2", help="worker counts for the throughput part")
    ap.add_argument("--rungs", help="comma-separated rung names (default: the whole ladder)")
    ap.add_argument("--cache-dir", type=Path, default=ROOT / "var" / "bench")
    ap.add_argument("--ffmpeg", default=shutil.which("ffmpeg") or "ffmpeg")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--burner",
        type=int,
        default=0,
        help="CPU burner processes (one core each) running through the live part",
    )
    args = ap.parse_args(argv)
    settings = Settings()
    machine = machine_info()
    clip = ensure_clip(args.ffmpeg, make_config(max(2, min(10, int(args.seconds)))), args.cache_dir)
    frames = decoded_frames(clip, 60)
    scaled = [f.reformat(width=320, height=180, format="yuv420p") for f in frames[::6]]
    samples = [
        Sample("s", i, 0.0, 0.0, 320, 180, f.to_ndarray().tobytes(), "interval", 0.0)
        for i, f in enumerate(scaled)
    ]
    print(
        f"machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, load avg at start "
        f"{machine['loadavg_start']}; detector {settings.moderation_detector}, sample width "
        f"{settings.moderation_sample_width}",
        flush=True,
    )
    out: dict[str, Any] = {"machine": machine, "throughput": [], "live": None}
    for n in [int(w) for w in args.workers.split(",")]:
        t = asyncio.run(throughput(settings, samples, n, args.throughput_seconds))
        out["throughput"].append(t)
        print(
            f"throughput, {n} worker(s): {t['per_second']:.1f} sampled frames/s "
            f"({t['per_second_per_worker']:.1f} per worker), worker CPU "
            f"{t['worker_cpu_per_frame_ms']:.0f} ms per frame, inference p50 "
            f"{t['inference_p50_ms']:.0f} ms",
            flush=True,
        )
    rungs = args.rungs.split(",") if args.rungs else None
    with cpu_burner(args.burner):
        lv = asyncio.run(live(settings, frames, args.streams, args.seconds, rungs))
    out["live"] = lv
    print(
        f"live: {lv['streams']} streams x {lv['seconds']:g} s, ladder {lv['rungs']} + watermark, "
        f"{settings.moderation_workers} worker(s), {args.burner} core(s) burnt; load avg at start "
        f"{', '.join(f'{x:.2f}' for x in lv['load_avg_start'])}"
    )
    print(
        f"  decisions: {lv['decisions']} ({lv['decisions_per_stream_per_s']:.2f} per stream per "
        f"s); frame entered pipeline -> decision p50 {lv['latency_p50_ms']:.0f} ms, p99 "
        f"{lv['latency_p99_ms']:.0f} ms, max {lv['latency_max_ms']:.0f} ms"
    )
    print(
        f"  samples dropped (workers behind): {lv['dropped']} of {lv['samples']} "
        f"({lv['superseded']} stale behind a newer one); frames "
        f"dropped by the encoders' backlog (ladder not real time): "
        f"{lv['frames_dropped_by_encoder_backlog']} of {lv['frames_in']}; CPU "
        f"{lv['cpu_per_stream_per_media_s']:.3f} s per stream per media s (workers included)"
    )
    write_report(args.json, out)
    if lv["errors"]:
        print(f"pipeline errors: {lv['errors']}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
