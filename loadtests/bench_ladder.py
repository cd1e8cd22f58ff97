#!/usr/bin/env python3
"""Full-ladder CPU cost per 720p30 stream: ours against the ffmpeg CLI making the same ladder.

**Target: ratio ours/ffmpeg <= 1.10** (CPU seconds per media second).

The clip and the way it is decoded and fed are ``bench_transcode``'s (imported from it): a
1280x720@30 H.264 Constrained Baseline + Opus clip decoded as aiortc does, frames handed to the
pipeline as fast as it takes them. What differs is the output: the whole default ladder
(``engine.encoder.ladder(Settings())``, so ``TEEZU_*`` variables apply) instead of one rung.

* **ours**: a real ``StreamPipeline`` with every rung of the ladder and a real ``HlsOutput``
  (LL-HLS parts and segments) on ``LocalStorage`` in a temp dir, built by the factory the
  node's broadcasts use (``live.broadcasts.assemble``): posters and the WebRTC fan-out (no
  viewers here) included. The pipeline always encodes Opus for WebRTC viewers as well as AAC;
  that is part of "ours". CPU = ``getrusage(RUSAGE_SELF)`` over the run.
* **ffmpeg**: one command: decode once, ``split`` + ``scale`` (bilinear, as PyAV's
  ``reformat`` which our lower rungs use), one ``libx264`` per rung with
  ``engine.encoder.x264_options`` at that rung's bitrate, AAC encoded **once** and muxed into
  every rendition through the ``tee`` muxer (as ours does), each rendition HLS fMP4 in its own
  directory. CPU = ``getrusage(RUSAGE_CHILDREN)`` delta.

Extras (``--no-extra`` skips them):

* **ffmpeg + opus + posters**: the same command plus what ours does beyond the HLS ladder: an
  Opus encode (96 kb/s, complexity 5, 20 ms, as ``engine.encoder.OpusEncoder``) and a 640x360
  JPEG poster every 4 s. The like-for-like reference.
* **decode only**, ours and ffmpeg's (``bench_transcode``'s), for the decode share.

Frames are fed without real-time pacing, so the pipeline's wall-clock gap filler is turned off
(``gap_fill_after`` huge): on a loaded 2-core machine the ladder can run slower than real time,
and the filler would then encode repeated frames that are not in the clip. Every run still
checks 0 dropped frames, 0 filled slots, 0 filled audio samples, every frame encoded on every
rung, ~seconds/2 segments per rendition and a final ENDLIST. (A run of ours whose only fault is
a little silence inserted at start-up, when a busy machine stalled the event loop between the
first video and audio frames, is discarded and repeated, at most twice, and reported.) The exit
status is non-zero only on such errors, never because of the ratio.

Trust and safety (``--watermark``, ``--moderation``, issue 6): one more path of ours, **ours +
watermark + moderation**, the same pipeline with the visible watermark hook (mark + handle, as
``ingest/whip.py`` adds it) and/or moderation sampling feeding a real worker pool (NudeNet in a
spawned process, as ``TEEZU_MODERATION_*`` defaults). Its CPU includes the worker processes' CPU
(psutil, from after the model loaded until every sample was judged); samples, drops and the
worker's share are printed beside it, and the run is real time when ``x realtime`` > 1.

    .venv/bin/python loadtests/bench_ladder.py                                # 30 s clip, 3 runs
    .venv/bin/python loadtests/bench_ladder.py --seconds 5 --runs 1 --no-extra   # CI smoke
    .venv/bin/python loadtests/bench_ladder.py --no-extra --watermark --moderation
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.encoder import EncodedPacket, VideoSettings, ladder, x264_options  # noqa: E402
from engine.hooks import FrameHook  # noqa: E402
from engine.pipeline import StreamInfo  # noqa: E402
from engine.sampler import FrameSampler  # noqa: E402
from engine.shedding import ShedPolicy  # noqa: E402
from engine.watermark import for_creator  # noqa: E402
from live.broadcasts import assemble  # noqa: E402
from loadtests.bench_transcode import (  # noqa: E402
    AUDIO_RATE,
    FEED_BACKLOG,
    BenchError,
    ClipSource,
    Config,
    MeasuredPipeline,
    RunResult,
    X264Info,
    children_cpu,
    ensure_clip,
    ffmpeg_version,
    machine_info,
    make_config,
    run_ffmpeg_decode,
    run_ours_decode,
    self_cpu,
    steal_seconds,
    x264_info,
)
from loadtests.common import write_report  # noqa: E402
from teezu.settings import Settings  # noqa: E402
from teezu.storage import LocalStorage  # noqa: E402

STARTUP_RETRIES = 2


class StartupFill(BenchError):
    """Only a small start-up audio fill went wrong: the event loop stalled as the tracks began."""


POSTER_SIZE = (640, 360)  # engine.poster.PosterMaker's defaults
POSTER_INTERVAL = 4.0
OPUS_BITRATE = 96_000  # engine.encoder.OpusEncoder's defaults
OPUS_COMPLEXITY = 5


@dataclass(frozen=True)
class LadderConfig:
    base: Config  # seconds, top rung, audio, segment settings (bench_transcode's)
    rungs: tuple[VideoSettings, ...]

    @property
    def seconds(self) -> int:
        return self.base.seconds

    @property
    def frames(self) -> int:
        return self.base.frames

    @property
    def expected_segments(self) -> int:
        return self.base.expected_segments


def make_ladder_config(seconds: int) -> LadderConfig:
    return LadderConfig(make_config(seconds), tuple(ladder(Settings())))


# --------------------------------------------------------------------------- ours


class LadderCounter:
    """A consumer next to HlsOutput: counts packets per rendition (nearly free)."""

    def __init__(self) -> None:
        self.video: dict[str, int] = {}
        self.keyframes: dict[str, int] = {}
        self.first: dict[str, bytes] = {}
        self.audio: dict[str, int] = {}  # by rendition name: "audio" (AAC), "opus"...

    def on_start(self, info: StreamInfo) -> None:
        pass

    def on_packet(self, packet: EncodedPacket) -> None:
        name = packet.rendition
        if packet.kind == "video":
            self.first.setdefault(name, packet.data)
            self.video[name] = self.video.get(name, 0) + 1
            self.keyframes[name] = self.keyframes.get(name, 0) + packet.keyframe
        else:
            self.audio[name] = self.audio.get(name, 0) + 1

    def on_end(self) -> None:
        pass

    async def drain(self) -> None:
        pass


SAFETY_PATH = "ours + watermark + moderation"


def _safety_name(safety: frozenset[str]) -> str:
    return "ours + " + " + ".join(sorted(safety)) if safety else "ours"


async def _ours(clip: Path, cfg: LadderConfig, safety: frozenset[str] = frozenset()) -> RunResult:
    loop = asyncio.get_running_loop()
    b = cfg.base
    settings = Settings()
    hooks: list[FrameHook] = []
    pool = None
    judged: list[Any] = []
    if "moderation" in safety:
        import psutil

        from workers.moderation import ModerationPool

        pool = ModerationPool(
            settings.moderation_detector,
            workers=settings.moderation_workers,
            per_stream=settings.moderation_queue_per_stream,
        )
        worker_pids = await pool.start()  # model loading is not part of the figure
        workers = [psutil.Process(pid) for pid in set(worker_pids)]

        def worker_cpu() -> float:
            return sum(sum(w.cpu_times()[:2]) for w in workers)

        sampler = FrameSampler(
            lambda sample: loop.call_soon_threadsafe(pool.submit, sample, judged.append),
            interval=settings.moderation_interval,
            scene_threshold=settings.moderation_scene_threshold,
            min_gap=settings.moderation_min_gap,
            width=settings.moderation_sample_width,
        )
        hooks.append(sampler)
        workers_cpu0 = worker_cpu()
    if "watermark" in safety:
        hooks.append(for_creator("bench_creator", settings))
    with tempfile.TemporaryDirectory(prefix="bench-ladder-ours-") as tmp:
        root = Path(tmp)
        cpu0, wall0, loop_cpu0 = self_cpu(), time.perf_counter(), time.thread_time()
        counter = LadderCounter()
        # The live assembly (`live.broadcasts.assemble`: HLS output, WebRTC fan-out, pipeline),
        # with what an offline feed needs: not paced to real time (see the module docstring),
        # fed with backpressure (never full, never drops), every segment kept (they are counted
        # afterwards), and no shedding of what is fed faster than real time on purpose.
        run_settings = settings.model_copy(
            update={
                "segment_duration": b.segment_duration,
                "part_duration": b.part_duration,
                "playlist_window": b.playlist_window,
                "segment_retention": 10_000,
                "audio_bitrate": b.audio_bitrate,
                "gap_fill_after": 1e9,
                "video_backlog_frames": FEED_BACKLOG,
                "audio_backlog_seconds": FEED_BACKLOG,
            }
        )
        output, _, pipeline = assemble(
            "bench0000",
            run_settings,
            LocalStorage(root),
            loop=loop,
            hooks=hooks,
            rungs=list(cfg.rungs),
            extra=[counter],
            pipeline_type=MeasuredPipeline,
            shed_policy=ShedPolicy(max_step=0),
        )
        source = ClipSource(clip, backlog=pipeline.waiting)
        await output.start()
        pipeline.start()
        pipeline.attach(source.video)
        pipeline.attach(source.audio)
        assert source.finished is not None
        await source.finished.wait()
        await pipeline.stop()
        safety_info: dict[str, Any] = {}
        if pool is not None:
            await pool.idle()  # the last samples are still being judged
            safety_info = {
                "samples": pool.stats.submitted,
                "dropped": pool.stats.dropped,
                "judged": len(judged),
                "worker_cpu_s": worker_cpu() - workers_cpu0,
                "inference_ms": [r.analysis.inference_ms for r in judged if r.analysis],
            }
        wall = time.perf_counter() - wall0
        cpu = self_cpu() - cpu0 + safety_info.get("worker_cpu_s", 0.0)
        loop_cpu = time.thread_time() - loop_cpu0
        encoder_cpu = pipeline.encoder_thread_cpu
        segments, endlist = {}, {}
        for r in cfg.rungs:
            d = root / output.prefix(r.name)
            segments[r.name] = len(list(d.glob("seg*.m4s")))
            endlist[r.name] = "#EXT-X-ENDLIST" in (d / "index.m3u8").read_text()
    if pool is not None:
        await pool.close()

    st = pipeline.stats
    problems = []
    if pipeline.error is not None:
        problems.append(f"encoder thread failed: {pipeline.error!r}")
    if st.video_frames_in != cfg.frames:
        problems.append(f"{st.video_frames_in} video frames in, {cfg.frames} in the clip")
    if st.video_frames_dropped:
        problems.append(f"{st.video_frames_dropped} video frames dropped")
    if st.video_slots_filled or st.audio_samples_filled:
        problems.append(
            f"gap filler triggered: {st.video_slots_filled} video slots, "
            f"{st.audio_samples_filled} audio samples"
        )
    for r in cfg.rungs:
        if counter.video.get(r.name) != cfg.frames:
            problems.append(f"{r.name}: {counter.video.get(r.name)} packets, expected {cfg.frames}")
        if abs(segments[r.name] - cfg.expected_segments) > 1:
            problems.append(
                f"{r.name}: {segments[r.name]} segments, expected ~{cfg.expected_segments}"
            )
        if not endlist[r.name]:
            problems.append(f"{r.name}: final playlist has no ENDLIST")
    if problems:
        startup_only = (
            len(problems) == 1
            and not st.video_slots_filled
            and 0 < st.audio_samples_filled <= AUDIO_RATE // 4
        )
        raise (StartupFill if startup_only else BenchError)("ours: " + "; ".join(problems))
    return RunResult(
        _safety_name(safety),
        cfg.seconds,
        cpu,
        wall,
        {
            "safety": safety_info,
            "video_packets": dict(counter.video),
            "keyframes": dict(counter.keyframes),
            "audio_packets": dict(counter.audio),
            "segments": segments,
            "video_frames_dropped": st.video_frames_dropped,
            "video_slots_filled": st.video_slots_filled,
            "audio_samples_filled": st.audio_samples_filled,
            "posters": pipeline.poster_sink is not None,
            "x264": {name: x264_info(data) for name, data in counter.first.items()},
            "threads": {
                "event loop: demux + decode": source.decode_cpu,
                "event loop: the rest (feed, readers, asyncio, HLS dispatch)": loop_cpu
                - source.decode_cpu,
                "encoder thread (normalize, scale, encode calls, AAC, Opus, packaging)": (
                    encoder_cpu
                ),
                "other threads (x264 workers, swscale, storage I/O)": cpu - loop_cpu - encoder_cpu,
            },
        },
    )


def run_ours(clip: Path, cfg: LadderConfig, safety: frozenset[str] = frozenset()) -> RunResult:
    """One run of ours; retried when only the start-up anchoring inserted a little silence.

    The pipeline anchors each track where its first frame arrives (wall clock) and inserts
    silence when audio starts > 60 ms after video. A busy machine can stall the event loop that
    long between the two first frames; the run's CPU figure would still be sound, but the check
    is kept strict, so such a run is discarded and repeated (and the retry is reported).
    """
    for attempt in range(STARTUP_RETRIES + 1):
        gc.collect()
        try:
            result = asyncio.run(_ours(clip, cfg, safety))
        except StartupFill as exc:
            if attempt == STARTUP_RETRIES:
                raise
            print(f"  discarded a run of ours ({exc}); retrying", flush=True)
            continue
        result.info["startup_retries"] = attempt
        return result
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- ffmpeg CLI


def _tee_escape(path: Path) -> str:
    # tee's slave syntax uses ':' '[' ']' '|' and '\'; temp paths have none of these but '/'.
    s = str(path)
    if any(c in s for c in ":[]|\\'"):
        raise BenchError(f"temp path {s!r} needs escaping for the tee muxer")
    return s


def ffmpeg_ladder_command(
    ffmpeg: str, clip: Path, cfg: LadderConfig, outdir: Path, extras: bool
) -> list[str]:
    b = cfg.base
    rungs = cfg.rungs
    top = rungs[0]
    n = len(rungs) + (1 if extras else 0)
    # Our normalizer scales to the top rung (bicubic; a no-op for a same-size yuv420p input) and
    # the lower rungs are scaled from that picture with PyAV's reformat (bilinear).
    graph = [
        f"[0:v:0]scale={top.width}:{top.height}:flags=bicubic,format=yuv420p,"
        f"split={n}" + "".join(f"[s{i}]" for i in range(n))
    ]
    for i, r in enumerate(rungs[1:], start=1):
        graph.append(f"[s{i}]scale={r.width}:{r.height}:flags=bilinear[o{i}]")
    if extras:
        # One poster every POSTER_INTERVAL s of stream time, from the top picture.
        every = round(POSTER_INTERVAL * top.fps)
        w, h = POSTER_SIZE
        graph.append(
            f"[s{len(rungs)}]select='not(mod(n\\,{every}))',"
            f"scale={w}:{h}:flags=bilinear,format=yuvj420p[poster]"
        )
    cmd = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-c:a", "libopus",  # the Opus decoder aiortc uses
        "-i", str(clip),
        "-filter_complex", ";".join(graph),
        "-map", "[s0]",
    ]  # fmt: skip
    for i in range(1, len(rungs)):
        cmd += ["-map", f"[o{i}]"]
    cmd += ["-map", "0:a:0", "-r", str(top.fps), "-c:v", "libx264"]
    for i, r in enumerate(rungs):
        cmd += [f"-b:v:{i}", str(r.bitrate)]
        for key, value in x264_options(r).items():
            cmd += [f"-{key}:v:{i}", value]
    cmd += ["-c:a", "aac", "-b:a", str(b.audio_bitrate), "-ar", str(AUDIO_RATE), "-ac", "2"]
    slaves = []
    for i, r in enumerate(rungs):
        d = outdir / r.name
        d.mkdir(parents=True, exist_ok=True)
        opts = (
            f"select=\\'v:{i},a\\':f=hls:hls_time={b.segment_duration:g}:hls_segment_type=fmp4"
            f":hls_list_size=0:hls_fmp4_init_filename=init.mp4"
            f":hls_segment_filename={_tee_escape(d / 'seg%d.m4s')}"
        )
        slaves.append(f"[{opts}]{_tee_escape(d / 'index.m3u8')}")
    cmd += ["-f", "tee", "|".join(slaves)]
    if extras:
        posters = outdir / "posters"
        posters.mkdir()
        cmd += [
            "-map", "[poster]", "-fps_mode", "passthrough",
            "-c:v", "mjpeg", "-q:v", "5", "-f", "image2", str(posters / "poster%d.jpg"),
            "-map", "0:a:0", "-c:a", "libopus", "-b:a", str(OPUS_BITRATE),
            "-application", "audio", "-frame_duration", "20",
            "-compression_level", str(OPUS_COMPLEXITY), "-f", "null", "-",
        ]  # fmt: skip
    return cmd


def run_ffmpeg_ladder(ffmpeg: str, clip: Path, cfg: LadderConfig, extras: bool) -> RunResult:
    name = "ffmpeg + opus + posters" if extras else "ffmpeg"
    with tempfile.TemporaryDirectory(prefix="bench-ladder-ffmpeg-") as tmp:
        outdir = Path(tmp)
        cmd = ffmpeg_ladder_command(ffmpeg, clip, cfg, outdir, extras)
        cpu0, wall0 = children_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - wall0
        cpu = children_cpu() - cpu0
        if proc.returncode != 0:
            raise BenchError(f"{name}: ffmpeg exited {proc.returncode}: {proc.stderr[-2000:]}")
        segments, x264 = {}, {}
        for r in cfg.rungs:
            segs = sorted((outdir / r.name).glob("seg*.m4s"), key=lambda p: int(p.stem[3:]))
            if abs(len(segs) - cfg.expected_segments) > 1:
                raise BenchError(
                    f"{name}: {r.name}: {len(segs)} segments, expected ~{cfg.expected_segments}"
                )
            segments[r.name] = len(segs)
            x264[r.name] = x264_info(segs[0].read_bytes())
        info: dict[str, Any] = {"segments": segments, "x264": x264, "command": cmd}
        if extras:
            info["posters"] = len(list((outdir / "posters").glob("*.jpg")))
    return RunResult(name, cfg.seconds, cpu, wall, info)


# --------------------------------------------------------------------------- report


def _median(rs: list[RunResult], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in rs)


def report(
    cfg: LadderConfig,
    machine: dict[str, Any],
    ffmpeg_ver: str,
    results: dict[str, list[RunResult]],
    runs: int,
) -> dict[str, Any]:
    ours, ref = results["ours"], results["ffmpeg"]
    b = cfg.base
    ladder_desc = ", ".join(
        f"{r.name} {r.width}x{r.height} {r.bitrate // 1000} kb/s" for r in cfg.rungs
    )
    print()
    print(
        f"TeezU Live ladder benchmark: {cfg.seconds} s {b.video.width}x{b.video.height}@"
        f"{b.video.fps} clip (H.264 CBP + Opus) -> x264 {b.video.preset}/zerolatency ladder "
        f"[{ladder_desc}] + AAC {b.audio_bitrate // 1000} kb/s once -> HLS fMP4 "
        f"{b.segment_duration:g} s per rendition; median of {runs} run(s)"
    )
    print(
        f"machine: {machine['cpu']} ({machine['mhz']} MHz, {machine['simd']}), "
        f"{machine['logical_cpus']} logical CPUs ({machine['usable_cpus']} usable, cgroup quota "
        f"{machine['cgroup_cpu_quota']}), Linux {machine['kernel']}, load avg at start "
        f"{machine['loadavg_start']}"
    )
    print(
        f"software: Python {machine['python']}, PyAV {machine['pyav']} (FFmpeg "
        f"{machine['pyav_ffmpeg']}), ffmpeg CLI {ffmpeg_ver}"
    )
    ours_x: dict[str, X264Info | None] = ours[0].info["x264"]
    ref_x: dict[str, X264Info | None] = ref[0].info["x264"]
    for r in cfg.rungs:
        a, f = ours_x.get(r.name), ref_x.get(r.name)
        if a and f:
            same = (
                "identical options"
                if a.options == f.options
                else "OPTIONS DIFFER: "
                + ", ".join(
                    f"{k}={a.options.get(k)} vs {f.options.get(k)}"
                    for k in sorted(set(a.options) | set(f.options))
                    if a.options.get(k) != f.options.get(k)
                )
            )
            print(
                f"x264 {r.name:>5}: ours {a.version} {a.threads}; ffmpeg {f.version} {f.threads}; "
                f"{same}"
            )
    print(
        "ours includes: the Opus encode for WebRTC viewers (always on in the pipeline)"
        + (", posters (poster_sink, as ingest/whip.py)" if ours[0].info.get("posters") else "")
        + "; the ffmpeg path makes the HLS ladder only"
    )
    print()
    header = (
        f"{'path':<34}{'media s':>9}{'CPU s':>9}{'CPU s/media s':>15}{'wall s':>9}"
        f"{'x realtime':>12}{'steal %':>9}"
    )
    print(header)
    print("-" * len(header))
    rows: dict[str, dict[str, Any]] = {}
    for name, rs in results.items():
        if not rs:
            continue
        media = rs[0].media_s
        cpu, wall, steal = _median(rs, "cpu_s"), _median(rs, "wall_s"), _median(rs, "steal_pct")
        rows[name] = {
            "media_s": media,
            "cpu_s": cpu,
            "cpu_per_media_s": cpu / media,
            "wall_s": wall,
            "steal_pct": steal,
            "runs_cpu_s": [round(r.cpu_s, 3) for r in rs],
        }
        print(
            f"{name:<34}{media:>9.1f}{cpu:>9.2f}{cpu / media:>15.3f}{wall:>9.2f}"
            f"{media / wall:>12.2f}{steal:>9.1f}"
        )
    print()
    ratio = rows["ours"]["cpu_per_media_s"] / rows["ffmpeg"]["cpu_per_media_s"]
    print(
        f"ratio ours/ffmpeg (CPU s per media s, full ladder): {ratio:.3f}   "
        f"(target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})"
    )
    per_run = [o.cpu_s / f.cpu_s for o, f in zip(ours, ref, strict=False)]
    print(
        f"  per run (ours and ffmpeg run back to back): {', '.join(f'{r:.3f}' for r in per_run)}"
        f"; median {statistics.median(per_run):.3f}"
    )
    out: dict[str, Any] = {"ratio_ours_ffmpeg": ratio, "per_run_ratios": per_run}
    like = "ffmpeg + opus + posters"
    if like in rows:
        r2 = rows["ours"]["cpu_s"] / rows[like]["cpu_s"]
        print(f"ratio ours/({like}) (the same work, like for like): {r2:.3f}")
        out["ratio_ours_ffmpeg_same_work"] = r2
        extras_cost = rows[like]["cpu_s"] - rows["ffmpeg"]["cpu_s"]
        print(f"  Opus + posters in ffmpeg: {extras_cost:+.2f} CPU s")
    safety_rows = [name for name in rows if name.startswith("ours + ")]
    for name in safety_rows:
        base, more = rows["ours"]["cpu_per_media_s"], rows[name]["cpu_per_media_s"]
        info = results[name][-1].info["safety"]
        print(
            f"{name}: {more:.3f} CPU s per media s against {base:.3f} without "
            f"({more - base:+.3f}, {100 * (more - base) / base:+.1f}%); "
            f"{rows[name]['media_s'] / rows[name]['wall_s']:.2f}x real time"
        )
        if info:
            inference = sorted(info["inference_ms"]) or [0.0]
            print(
                f"  moderation: {info['samples']} samples "
                f"({info['samples'] / cfg.seconds:.2f}/s of media), {info['dropped']} dropped, "
                f"{info['judged']} judged; worker CPU "
                f"{info['worker_cpu_s']:.2f} s; inference p50 "
                f"{statistics.median(inference):.0f} ms"
            )
        out.setdefault("safety", {})[name] = {
            "cpu_per_media_s": more,
            "without": base,
            "added_pct": 100 * (more - base) / base,
            "x_realtime": rows[name]["media_s"] / rows[name]["wall_s"],
            **{k: v for k, v in info.items() if k != "inference_ms"},
        }
    if "decode only, ours" in rows and "decode only, ffmpeg" in rows:
        do, df = rows["decode only, ours"]["cpu_s"], rows["decode only, ffmpeg"]["cpu_s"]
        eo, ef = rows["ours"]["cpu_s"] - do, rows["ffmpeg"]["cpu_s"] - df
        print(
            f"after decode (total - decode only): ours {eo:.2f} s, ffmpeg {ef:.2f} s, "
            f"ratio {eo / ef:.3f}"
        )
        out["ratio_after_decode"] = eo / ef
    print("CPU by thread, ours (median s):")
    threads = {}
    for label in ours[0].info["threads"]:
        threads[label] = statistics.median(r.info["threads"][label] for r in ours)
        print(f"  {label:<72}{threads[label]:>7.2f}")
    rows["ours"]["threads"] = threads
    i = ours[-1].info
    print(
        f"checks (ours, every run): {cfg.frames} video frames in, {i['video_frames_dropped']} "
        f"dropped, {i['video_slots_filled']} slots filled, {i['audio_samples_filled']} audio "
        f"samples filled; video packets {i['video_packets']}, keyframes {i['keyframes']}, audio "
        f"packets {i['audio_packets']}, segments {i['segments']}, runs discarded at start-up "
        f"{sum(r.info.get('startup_retries', 0) for r in ours)}; ffmpeg: segments "
        f"{ref[-1].info['segments']}"
        + (f", posters {results[like][-1].info['posters']}" if results.get(like) else "")
    )
    out.update(
        config={
            "seconds": cfg.seconds,
            "rungs": [asdict(r) for r in cfg.rungs],
            "audio_bitrate": b.audio_bitrate,
            "segment_duration": b.segment_duration,
            "part_duration": b.part_duration,
        },
        machine=machine,
        ffmpeg_cli=ffmpeg_ver,
        ffmpeg_command=ref[0].info["command"],
        x264={
            "ours": {k: v and asdict(v) for k, v in ours_x.items()},
            "ffmpeg": {k: v and asdict(v) for k, v in ref_x.items()},
        },
        rows=rows,
    )
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=int, default=30, help="clip duration (default 30)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each path; the median is reported")
    ap.add_argument(
        "--cache-dir", type=Path, default=ROOT / "var" / "bench", help="where clips are cached"
    )
    ap.add_argument("--ffmpeg", default=shutil.which("ffmpeg") or "ffmpeg")
    ap.add_argument(
        "--no-extra",
        action="store_true",
        help="only ours and ffmpeg (no ffmpeg + opus + posters, no decode-only)",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--watermark", action="store_true", help="also run ours with the visible watermark"
    )
    ap.add_argument(
        "--moderation",
        action="store_true",
        help="also run ours with moderation sampling and a real NudeNet worker",
    )
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.runs <= 0:
        ap.error("--seconds and --runs must be positive")

    try:
        cfg = make_ladder_config(args.seconds)
        machine = machine_info()
        ffmpeg_ver = ffmpeg_version(args.ffmpeg)
        clip = ensure_clip(args.ffmpeg, cfg.base, args.cache_dir)
        paths: list[tuple[str, Any]] = [
            ("ours", lambda: run_ours(clip, cfg)),
            ("ffmpeg", lambda: run_ffmpeg_ladder(args.ffmpeg, clip, cfg, extras=False)),
        ]
        safety = frozenset(
            name
            for name, on in (("watermark", args.watermark), ("moderation", args.moderation))
            if on
        )
        if safety:
            paths.append((_safety_name(safety), lambda: run_ours(clip, cfg, safety)))
        if not args.no_extra:
            paths += [
                (
                    "ffmpeg + opus + posters",
                    lambda: run_ffmpeg_ladder(args.ffmpeg, clip, cfg, extras=True),
                ),
                ("decode only, ours", lambda: run_ours_decode(clip, cfg.base)),
                ("decode only, ffmpeg", lambda: run_ffmpeg_decode(args.ffmpeg, clip, cfg.base)),
            ]
        results: dict[str, list[RunResult]] = {name: [] for name, _ in paths}
        print(f"clip: {clip}", flush=True)
        for i in range(args.runs):
            order = paths if i % 2 == 0 else paths[::-1]
            for name, fn in order:
                steal0 = steal_seconds()
                r = fn()
                r.steal_s = steal_seconds() - steal0
                results[name].append(r)
                print(
                    f"run {i + 1}/{args.runs} {name:<24} "
                    f"CPU {r.cpu_s:7.2f} s  wall {r.wall_s:6.2f} s",
                    flush=True,
                )
        summary = report(cfg, machine, ffmpeg_ver, results, args.runs)
        write_report(args.json, summary)
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
