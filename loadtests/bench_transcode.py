#!/usr/bin/env python3
"""CPU cost of our transcode path against the ffmpeg command line with the same encoder settings.

One synthetic clip (1280x720@30 ``testsrc2`` with temporal noise + a sine tone, H.264 Constrained
Baseline + Opus, i.e. what a WebRTC publisher sends) goes through:

* **ours**: decoded with PyAV exactly as aiortc hands frames to the engine (``h264`` / ``libopus``
  decoders configured like aiortc's, Annex B packets, yuv420p video frames with pts in 1/90000,
  s16 stereo 48 kHz audio frames of 960 samples with pts in 1/48000, both rebased to 0), fed
  through MediaStreamTrack subclasses to a real ``StreamPipeline`` with a real ``HlsOutput`` on
  ``LocalStorage`` in a temp dir. Frames are fed as fast as the pipeline takes them (backpressure
  on its queue, no real-time pacing). CPU = ``getrusage(RUSAGE_SELF)`` over the whole run:
  decode + normalize + encode + package + write.
* **ffmpeg**: ``ffmpeg -i clip ... -c:v libx264`` with the options of
  ``engine.encoder.x264_options`` and ``-c:a aac``, muxed to HLS fMP4 in a temp dir.
  CPU = ``getrusage(RUSAGE_CHILDREN)`` delta.

and, to tell our own overhead apart from differences between x264 builds:

* **pyav-min**: a minimal PyAV loop (same decode, same libx264/aac options, PyAV's HLS muxer):
  the libraries our engine uses (PyAV's bundled FFmpeg/x264) without any engine code.
* **decode only**, ours and ffmpeg's, so the decode share of each total is known.

Each path runs ``--runs`` times (order alternated); the medians are printed with the ratio
ours/ffmpeg of CPU seconds per media second (target: <= 1.10). The exit status is non-zero only
on errors (a failed run, dropped or filled frames, a missing segment), never on the ratio.

    .venv/bin/python loadtests/bench_transcode.py              # 30 s clip, 3 runs
    .venv/bin/python loadtests/bench_transcode.py --seconds 5 --runs 1 --no-extra   # CI smoke
    .venv/bin/python loadtests/bench_transcode.py --profile    # + cProfile of our threads
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import json
import math
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import av  # noqa: E402
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402
from av.video.frame import PictureType  # noqa: E402

from engine.encoder import EncodedPacket, VideoSettings, video_settings, x264_options  # noqa: E402
from engine.pipeline import StreamInfo, StreamPipeline  # noqa: E402
from engine.shedding import ShedPolicy  # noqa: E402
from hls.output import HlsOutput  # noqa: E402
from loadtests import common  # noqa: E402
from loadtests.common import write_report  # noqa: E402
from teezu.settings import Settings  # noqa: E402
from teezu.storage import LocalStorage  # noqa: E402

VIDEO_TIME_BASE = Fraction(1, 90_000)  # aiortc's VIDEO_TIME_BASE
AUDIO_RATE = 48_000
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
# Pipeline queue items (video + audio frames) above which the feeding tracks wait: keeps memory
# bounded and far below what the pipeline's backlogs hold when built with FEED_BACKLOG.
BACKLOG_LIMIT = 24
FEED_BACKLOG = 1000  # backlog sizes for a feed with backpressure (frames; seconds of audio)
CLIP_VIDEO_BITRATE = "3M"  # what a browser sends for 720p at a good bandwidth estimate


class BenchError(RuntimeError):
    """A run failed or produced output that makes its measurement meaningless."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    seconds: int
    video: VideoSettings
    audio_bitrate: int
    segment_duration: float
    part_duration: float
    gap_fill_after: float
    playlist_window: int
    segment_retention: int

    @property
    def frames(self) -> int:
        return self.seconds * self.video.fps

    @property
    def expected_segments(self) -> int:
        return math.ceil(self.seconds / self.segment_duration - 1e-9)


def make_config(seconds: int) -> Config:
    """The production settings (``TEEZU_*`` environment, as the server reads them)."""
    s = Settings()
    video = video_settings(s)  # the top rung of what ingest/whip.py builds for a live stream
    return Config(
        seconds=seconds,
        video=video,
        audio_bitrate=s.audio_bitrate,
        segment_duration=s.segment_duration,
        part_duration=s.part_duration,
        gap_fill_after=s.gap_fill_after,
        playlist_window=s.playlist_window,
        segment_retention=s.segment_retention,
    )


# --------------------------------------------------------------------------- the clip


def clip_command(ffmpeg: str, cfg: Config, out: Path) -> list[str]:
    v = cfg.video
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi",
        "-i", f"testsrc2=size={v.width}x{v.height}:rate={v.fps},"
              "noise=alls=20:allf=t+u,format=yuv420p",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={AUDIO_RATE}",
        "-t", str(cfg.seconds),
        "-map", "0:v", "-map", "1:a",
        # What WebRTC publishers send: H.264 Constrained Baseline (single slice, no B-frames)...
        "-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast",
        "-b:v", CLIP_VIDEO_BITRATE, "-maxrate", CLIP_VIDEO_BITRATE, "-bufsize", CLIP_VIDEO_BITRATE,
        "-g", str(v.fps * 5),
        # ... and Opus in 20 ms frames, stereo 48 kHz.
        "-c:a", "libopus", "-b:a", "64k", "-ac", "2", "-ar", str(AUDIO_RATE),
        "-frame_duration", "20",
        # Exact 90 kHz video timestamps, as RTP has them.
        "-video_track_timescale", "90000",
        "-f", "mp4", str(out),
    ]  # fmt: skip


def ensure_clip(ffmpeg: str, cfg: Config, cache_dir: Path) -> Path:
    """The clip for ``cfg``, generated once and cached under ``cache_dir`` keyed by its command."""
    key_cmd = clip_command("ffmpeg", cfg, Path("clip.mp4"))
    key = hashlib.sha1(json.dumps([key_cmd, ffmpeg_version(ffmpeg)]).encode()).hexdigest()[:10]
    v = cfg.video
    path = cache_dir / f"clip-{v.width}x{v.height}@{v.fps}-{cfg.seconds}s-{key}.mp4"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{path.name}.{os.getpid()}.tmp.mp4"
    print(f"generating {path} ...", flush=True)
    proc = subprocess.run(clip_command(ffmpeg, cfg, tmp), capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BenchError(f"clip generation failed: {proc.stderr.strip()}")
    os.replace(tmp, path)  # atomic: a concurrent run sees no half-written clip
    return path


# --------------------------------------------------------------------------- decoding as aiortc


class ClipSource:
    """Decodes the clip the way aiortc's receivers do and hands out frames per kind.

    aiortc's ``H264Decoder`` is ``CodecContext.create("h264", "r")`` fed Annex B access units with
    pts in 1/90000; its ``OpusDecoder`` is ``libopus`` set to s16 stereo 48 kHz with pts in
    1/48000; RTP timestamps start at 0 per track (``TimestampMapper``). The same is done here,
    from the MP4 (``h264_mp4toannexb`` stands in for RTP depacketization).
    """

    def __init__(self, path: Path, backlog: Callable[[], int] | None = None) -> None:
        self._container = av.open(str(path))
        self._vs = self._container.streams.video[0]
        self._as = self._container.streams.audio[0]
        self._bsf = av.BitStreamFilterContext("h264_mp4toannexb", self._vs)
        self._vdec = av.CodecContext.create("h264", "r")
        adec = av.CodecContext.create("libopus", "r")
        assert isinstance(adec, av.AudioCodecContext)
        adec.format = "s16"
        adec.layout = "stereo"
        adec.sample_rate = AUDIO_RATE
        self._adec = adec
        self._packets = self._container.demux(self._vs, self._as)
        # Decoded frames per kind, each with its media time in seconds.
        self._frames: dict[str, deque[tuple[float, av.VideoFrame | av.AudioFrame]]] = {
            "video": deque(),
            "audio": deque(),
        }
        self._first_pts: dict[str, int | None] = {"video": None, "audio": None}
        self._time_base = {"video": self._vs.time_base, "audio": self._as.time_base}
        self._eof = False
        self._backlog = backlog
        self.backpressure_waits = 0
        self.decode_cpu = 0.0  # CPU time of demux + decode (in the thread that pumps)
        self.order_waits = 0
        self._progress = asyncio.Condition()
        self.frames_out = {"video": 0, "audio": 0}
        self._ended: set[str] = set()
        self.finished = asyncio.Event() if backlog is not None else None
        self.video = ClipTrack("video", self)
        self.audio = ClipTrack("audio", self)

    # -- frames -----------------------------------------------------------------------

    def _head(self, kind: str) -> float | None:
        """Media time of the next frame of ``kind`` (None at the end)."""
        q = self._frames[kind]
        while not q and not self._eof:
            self._pump()
        return q[0][0] if q else None

    async def next_frame(self, kind: str) -> av.VideoFrame | av.AudioFrame | None:
        """The next frame of ``kind``, handed out in timestamp order across the two tracks.

        Without real-time pacing nothing else orders the two readers: a reader whose ``recv()``
        never suspends would run far ahead, and the other track's first frame would arrive late.
        The pipeline anchors each track on the timeline where its first frame *arrives* (wall
        clock), so audio arriving > 60 ms after video would be placed late and preceded by
        inserted silence. As in a live session, frames are handed out in media-time order: a
        frame waits while the other track's next frame is earlier. (The earliest head can always
        go, so the two readers never wait on each other.)
        """
        other = "audio" if kind == "video" else "video"
        while True:
            head = self._head(kind)
            if head is None:
                return None
            other_head = self._head(other)
            if other_head is None or other_head >= head:
                break
            self.order_waits += 1
            async with self._progress:
                await self._progress.wait()
        self.frames_out[kind] += 1
        _, frame = self._frames[kind].popleft()
        async with self._progress:
            self._progress.notify_all()
        return frame

    def iter_frames(self) -> Iterator[tuple[str, av.VideoFrame | av.AudioFrame]]:
        """Every frame in decode order (for the paths without tracks)."""
        while True:
            for kind in ("video", "audio"):
                q = self._frames[kind]
                while q:
                    self.frames_out[kind] += 1
                    yield kind, q.popleft()[1]
            if self._eof:
                return
            self._pump()

    def _pump(self) -> None:
        t0 = time.thread_time()
        try:
            self._pump_one()
        finally:
            self.decode_cpu += time.thread_time() - t0

    def _pump_one(self) -> None:
        try:
            packet = next(self._packets)
        except StopIteration:
            self._eof = True
            for p in self._bsf.filter(None):
                self._decode("video", p)
            self._decode("video", None)
            self._decode("audio", None)
            self._container.close()
            return
        if packet.size == 0:
            return  # the demuxer's end-of-stream marker
        if packet.stream is self._vs:
            for p in self._bsf.filter(packet):
                self._decode("video", p)
        else:
            self._decode("audio", packet)

    def _decode(self, kind: str, packet: av.Packet | None) -> None:
        video = kind == "video"
        dec = self._vdec if video else self._adec
        rate = 90_000 if video else AUDIO_RATE
        if packet is None:
            frames = dec.decode(None)
        else:
            assert packet.pts is not None
            tb = self._time_base[kind]
            ts = (packet.pts * tb.numerator * rate + tb.denominator // 2) // tb.denominator
            first = self._first_pts[kind]
            if first is None:
                first = self._first_pts[kind] = ts
            # As aiortc: a packet rebuilt from the payload, RTP timestamp rebased to 0.
            rtp = av.Packet(bytes(packet))
            rtp.pts = ts - first
            rtp.time_base = VIDEO_TIME_BASE if video else AUDIO_TIME_BASE
            frames = dec.decode(rtp)
        self._frames[kind].extend((f.pts / rate, f) for f in frames)

    # -- tracks -----------------------------------------------------------------------

    async def wait_for_room(self) -> None:
        """Backpressure: feed as fast as the pipeline takes frames, never faster."""
        if self._backlog is None:
            return
        while self._backlog() > BACKLOG_LIMIT:
            self.backpressure_waits += 1
            await asyncio.sleep(0.01)

    def track_ended(self, kind: str) -> None:
        self._ended.add(kind)
        if len(self._ended) == 2 and self.finished is not None:
            self.finished.set()


class ClipTrack(MediaStreamTrack):
    """A received track as the pipeline sees it: ``recv()`` returns decoded frames."""

    def __init__(self, kind: str, source: ClipSource) -> None:
        super().__init__()
        self.kind = kind
        self._source = source

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._source.wait_for_room()
        frame = await self._source.next_frame(self.kind)
        if frame is None:
            self._source.track_ended(self.kind)
            self.stop()
            raise MediaStreamError
        return frame


# --------------------------------------------------------------------------- results


@dataclass
class RunResult:
    path: str
    media_s: float
    cpu_s: float
    wall_s: float
    info: dict[str, Any] = field(default_factory=dict)
    steal_s: float = 0.0  # CPU time the hypervisor took from this VM during the run (all CPUs)

    @property
    def steal_pct(self) -> float:
        """Steal as a share of the machine's CPU capacity during the run (noise indicator)."""
        return 100 * self.steal_s / (self.wall_s * (os.cpu_count() or 1))

    @property
    def cpu_per_media_s(self) -> float:
        return self.cpu_s / self.media_s


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def steal_seconds() -> float:
    """Machine-wide steal time (a VM's vCPUs not running because the host ran something else)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


_X264_SEI = re.compile(
    rb"x264 - core (\d+)([^\x00]*?) - H\.264/MPEG-4 AVC codec[^\x00]*?options: ([^\x00]*)"
)


@dataclass(frozen=True)
class X264Info:
    core: int
    revision: str  # e.g. 'r3095 baee400'; empty when the build does not say
    options: dict[str, str]

    @property
    def version(self) -> str:
        return f"core {self.core}" + (f" {self.revision}" if self.revision else "")

    @property
    def threads(self) -> str:
        keys = ("threads", "lookahead_threads", "sliced_threads", "slices")
        return " ".join(f"{k}={self.options[k]}" for k in keys if k in self.options)


def x264_info(data: bytes) -> X264Info | None:
    """The version and options x264 writes into its first frame (an unregistered-user-data SEI)."""
    m = _X264_SEI.search(data)
    if m is None:
        return None
    opts = dict(kv.split("=", 1) for kv in m.group(3).decode("latin-1").split() if "=" in kv)
    return X264Info(int(m.group(1)), m.group(2).decode("latin-1").strip(), opts)


# --------------------------------------------------------------------------- ours


class PacketCounter:
    """A second consumer next to HlsOutput: counts what the encoder emitted (nearly free)."""

    def __init__(self) -> None:
        self.video = 0
        self.audio = 0
        self.keyframes = 0
        self.first_video: bytes | None = None
        self.ended = False

    def on_start(self, info: StreamInfo) -> None:
        pass

    def on_packet(self, packet: EncodedPacket) -> None:
        if packet.kind == "video":
            if self.first_video is None:
                self.first_video = packet.data
            self.video += 1
            self.keyframes += packet.keyframe
        elif packet.rendition == "audio":  # AAC only, not the WebRTC Opus
            self.audio += 1

    def on_end(self) -> None:
        self.ended = True

    async def drain(self) -> None:
        pass


class MeasuredPipeline(StreamPipeline):
    """The real pipeline; also measures its encoder thread's own CPU time (and can profile it)."""

    profiler: cProfile.Profile | None = None

    def _run(self) -> None:
        t0 = time.thread_time()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            super()._run()
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            self.encoder_thread_cpu = time.thread_time() - t0


async def _ours(clip: Path, cfg: Config, profiler: cProfile.Profile | None = None) -> RunResult:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="bench-ours-") as tmp:
        cpu0, wall0, loop_cpu0 = self_cpu(), time.perf_counter(), time.thread_time()
        output = HlsOutput(
            "bench",
            LocalStorage(Path(tmp)),
            segment_duration=cfg.segment_duration,
            part_duration=cfg.part_duration,
            window=cfg.playlist_window,
            retention=cfg.segment_retention,
            audio_bitrate=cfg.audio_bitrate,
            loop=loop,
        )
        counter = PacketCounter()
        pipeline = MeasuredPipeline(
            "bench0000",
            [cfg.video],  # one rendition: the same work as the single ffmpeg command
            [output, counter],
            audio_bitrate=cfg.audio_bitrate,
            gap_fill_after=cfg.gap_fill_after,
            video_backlog=FEED_BACKLOG,  # fed with backpressure: never full, never drops
            # Fed faster than real time on purpose: shedding would drop what is measured.
            shed_policy=ShedPolicy(max_step=0),
            audio_backlog_seconds=FEED_BACKLOG,
        )
        pipeline.profiler = profiler
        source = ClipSource(clip, backlog=pipeline.waiting)
        await output.start()
        pipeline.start()
        pipeline.attach(source.video)
        pipeline.attach(source.audio)
        assert source.finished is not None
        await source.finished.wait()
        await pipeline.stop()
        wall = time.perf_counter() - wall0
        cpu = self_cpu() - cpu0
        loop_cpu = time.thread_time() - loop_cpu0
        encoder_cpu = pipeline.encoder_thread_cpu
        playlist = (Path(tmp) / output.prefix(cfg.video.name) / "index.m3u8").read_text()

    st = pipeline.stats
    problems = []
    if pipeline.error is not None:
        problems.append(f"encoder thread failed: {pipeline.error!r}")
    if st.video_frames_in != source.frames_out["video"] or st.video_frames_in != cfg.frames:
        problems.append(f"{st.video_frames_in} video frames in, {cfg.frames} in the clip")
    if st.video_frames_dropped:
        problems.append(f"{st.video_frames_dropped} video frames dropped")
    if st.video_slots_filled or st.audio_samples_filled:
        problems.append(
            f"gap filler triggered: {st.video_slots_filled} video slots, "
            f"{st.audio_samples_filled} audio samples (one track anchored late, or the pipeline "
            f"ran slower than real time: wall {wall:.1f} s for {cfg.seconds} s of media)"
        )
    if counter.video != cfg.frames:
        problems.append(f"{counter.video} video packets encoded, expected {cfg.frames}")
    if abs(output.segments_written - cfg.expected_segments) > 1:
        problems.append(f"{output.segments_written} segments, expected ~{cfg.expected_segments}")
    if "#EXT-X-ENDLIST" not in playlist:
        problems.append("final playlist has no ENDLIST")
    if problems:
        raise BenchError("ours: " + "; ".join(problems))
    x264 = x264_info(counter.first_video or b"")
    return RunResult(
        "ours",
        cfg.seconds,
        cpu,
        wall,
        {
            "video_frames_in": st.video_frames_in,
            "audio_frames_in": st.audio_frames_in,
            "video_frames_dropped": st.video_frames_dropped,
            "video_slots_filled": st.video_slots_filled,
            "audio_samples_filled": st.audio_samples_filled,
            "video_packets": counter.video,
            "keyframes": counter.keyframes,
            "audio_packets": counter.audio,
            "segments": output.segments_written,
            "backpressure_waits": source.backpressure_waits,
            "order_waits": source.order_waits,
            "x264": x264,
            "threads": {
                "event loop: demux + decode": source.decode_cpu,
                "event loop: the rest (feed, readers, asyncio, HLS dispatch)": loop_cpu
                - source.decode_cpu,
                "encoder thread (normalize, encode calls, AAC, packaging)": encoder_cpu,
                "other threads (x264 workers, storage I/O)": cpu - loop_cpu - encoder_cpu,
            },
        },
    )


def run_ours(clip: Path, cfg: Config, profiler: cProfile.Profile | None = None) -> RunResult:
    gc.collect()
    return asyncio.run(_ours(clip, cfg, profiler))


# --------------------------------------------------------------------------- ffmpeg CLI


def ffmpeg_version(ffmpeg: str) -> str:
    out = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True)
    first = out.stdout.splitlines()[0] if out.stdout else "?"
    m = re.match(r"ffmpeg version (\S+)", first)
    return m.group(1) if m else first


def ffmpeg_command(ffmpeg: str, clip: Path, cfg: Config, outdir: Path) -> list[str]:
    v = cfg.video
    cmd = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        # The Opus decoder aiortc uses (ffmpeg's default would be its native one).
        "-c:a", "libopus",
        "-i", str(clip),
        "-map", "0:v:0", "-map", "0:a:0",
        "-r", str(v.fps), "-s", f"{v.width}x{v.height}", "-pix_fmt", "yuv420p",
        "-c:v", "libx264", "-b:v", str(v.bitrate),
    ]  # fmt: skip
    for key, value in x264_options(v).items():
        cmd += [f"-{key}", value]
    cmd += [
        "-c:a", "aac", "-b:a", str(cfg.audio_bitrate), "-ar", str(AUDIO_RATE), "-ac", "2",
        "-f", "hls", "-hls_time", f"{cfg.segment_duration:g}", "-hls_segment_type", "fmp4",
        "-hls_list_size", "0", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(outdir / "seg%d.m4s"),
        str(outdir / "index.m3u8"),
    ]  # fmt: skip
    return cmd


def run_subprocess(path: str, cmd: list[str], media_s: float) -> RunResult:
    cpu0, wall0 = children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - wall0
    cpu = children_cpu() - cpu0
    if proc.returncode != 0:
        raise BenchError(f"{path}: ffmpeg exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return RunResult(path, media_s, cpu, wall, {"stderr": proc.stderr.strip()})


def check_hls_dir(path: str, outdir: Path, cfg: Config) -> dict[str, Any]:
    segments = sorted(outdir.glob("seg*.m4s"), key=lambda p: int(p.stem[3:]))
    if abs(len(segments) - cfg.expected_segments) > 1:
        raise BenchError(f"{path}: {len(segments)} segments, expected ~{cfg.expected_segments}")
    return {"segments": len(segments), "x264": x264_info(segments[0].read_bytes())}


def run_ffmpeg(ffmpeg: str, clip: Path, cfg: Config) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="bench-ffmpeg-") as tmp:
        result = run_subprocess("ffmpeg", ffmpeg_command(ffmpeg, clip, cfg, Path(tmp)), cfg.seconds)
        result.info.update(check_hls_dir("ffmpeg", Path(tmp), cfg))
    return result


def run_ffmpeg_decode(ffmpeg: str, clip: Path, cfg: Config) -> RunResult:
    cmd = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-c:a", "libopus", "-i", str(clip), "-map", "0:v:0", "-map", "0:a:0", "-f", "null", "-",
    ]  # fmt: skip
    return run_subprocess("decode only, ffmpeg", cmd, cfg.seconds)


# --------------------------------------------------------------------------- PyAV references


def run_ours_decode(clip: Path, cfg: Config) -> RunResult:
    gc.collect()
    cpu0, wall0 = self_cpu(), time.perf_counter()
    source = ClipSource(clip)
    counts = {"video": 0, "audio": 0}
    for kind, _frame in source.iter_frames():
        counts[kind] += 1
    wall = time.perf_counter() - wall0
    cpu = self_cpu() - cpu0
    if counts["video"] != cfg.frames:
        raise BenchError(f"decode only: {counts['video']} video frames, expected {cfg.frames}")
    return RunResult("decode only, ours", cfg.seconds, cpu, wall, counts)


async def _feed_only(clip: Path, cfg: Config) -> RunResult:
    cpu0, wall0 = self_cpu(), time.perf_counter()
    source = ClipSource(clip, backlog=lambda: 0)
    counts = {"video": 0, "audio": 0}

    async def read(track: ClipTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            counts[track.kind] += 1

    await asyncio.gather(read(source.video), read(source.audio))
    wall = time.perf_counter() - wall0
    cpu = self_cpu() - cpu0
    if counts["video"] != cfg.frames:
        raise BenchError(f"feed only: {counts['video']} video frames, expected {cfg.frames}")
    return RunResult("feed only, ours", cfg.seconds, cpu, wall, counts)


def run_feed_only(clip: Path, cfg: Config) -> RunResult:
    """Decode + the tracks' recv() in timestamp order, read by bare tasks: the harness's share."""
    gc.collect()
    return asyncio.run(_feed_only(clip, cfg))


def run_pyav_min(clip: Path, cfg: Config) -> RunResult:
    """Same decode, same libx264/aac settings, PyAV's HLS muxer: our libraries, no engine."""
    v = cfg.video
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="bench-pyav-") as tmp:
        outdir = Path(tmp)
        cpu0, wall0, main0 = self_cpu(), time.perf_counter(), time.thread_time()
        out = av.open(
            str(outdir / "index.m3u8"),
            "w",
            format="hls",
            options={
                "hls_time": f"{cfg.segment_duration:g}",
                "hls_segment_type": "fmp4",
                "hls_list_size": "0",
                "hls_fmp4_init_filename": "init.mp4",
                "hls_segment_filename": str(outdir / "seg%d.m4s"),
            },
        )
        vs = out.add_stream("libx264", rate=v.fps, options=x264_options(v))
        vs.width, vs.height, vs.pix_fmt, vs.bit_rate = v.width, v.height, "yuv420p", v.bitrate
        vs.codec_context.time_base = Fraction(1, v.fps)
        as_ = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        as_.bit_rate = cfg.audio_bitrate
        source = ClipSource(clip)
        n = 0
        for kind, frame in source.iter_frames():
            if kind == "video":
                assert isinstance(frame, av.VideoFrame)
                frame.pts, frame.time_base = n, vs.codec_context.time_base
                frame.pict_type = PictureType.NONE  # as the ffmpeg CLI does
                n += 1
                out.mux(vs.encode(frame))
            else:
                out.mux(as_.encode(frame))  # pts = samples so far, as PyAV's re-chunker wants
        out.mux(vs.encode(None))
        out.mux(as_.encode(None))
        out.close()
        wall = time.perf_counter() - wall0
        cpu = self_cpu() - cpu0
        main_cpu = time.thread_time() - main0
        info = check_hls_dir("pyav-min", outdir, cfg)
        info["threads"] = {
            "main thread (decode, encode calls, AAC, mux)": main_cpu,
            "other threads (x264 workers)": cpu - main_cpu,
        }
    if n != cfg.frames:
        raise BenchError(f"pyav-min: {n} video frames, expected {cfg.frames}")
    return RunResult("pyav-min", cfg.seconds, cpu, wall, info)


# --------------------------------------------------------------------------- profiling


def profile_ours(clip: Path, cfg: Config, top: int) -> str:
    """One more run of ours with cProfile in the encoder thread and in the event-loop thread."""
    enc_prof, loop_prof = cProfile.Profile(), cProfile.Profile()
    loop_prof.enable()
    try:
        result = run_ours(clip, cfg, enc_prof)
    finally:
        loop_prof.disable()
    buf = io.StringIO()
    buf.write(
        f"profiled run of ours (cProfile overhead included): CPU {result.cpu_s:.2f} s, "
        f"wall {result.wall_s:.2f} s\n"
    )
    for name, prof in (
        ("encoder thread", enc_prof),
        ("event-loop thread (decode, feed, readers, HLS dispatch)", loop_prof),
    ):
        buf.write(f"\n--- {name}: top {top} by own time (wall time, not CPU) ---\n")
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """The shared machine record (loadtests/common.py) plus the PyAV/FFmpeg build measured."""
    return common.machine_info() | {
        "pyav": av.__version__,
        "pyav_ffmpeg": av.ffmpeg_version_info,
    }


# --------------------------------------------------------------------------- report


def _median(results: list[RunResult], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in results)


def report(
    cfg: Config,
    machine: dict[str, Any],
    ffmpeg_ver: str,
    results: dict[str, list[RunResult]],
    runs: int,
) -> dict[str, Any]:
    ours, ref = results["ours"], results["ffmpeg"]
    v = cfg.video
    print()
    print(
        f"TeezU Live transcode benchmark: {cfg.seconds} s {v.width}x{v.height}@{v.fps} clip "
        f"(H.264 CBP + Opus) -> x264 {v.preset}/zerolatency {v.bitrate // 1000} kb/s "
        f"+ AAC {cfg.audio_bitrate // 1000} kb/s -> HLS fMP4 {cfg.segment_duration:g} s; "
        f"median of {runs} run(s)"
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
    ours_x264: X264Info | None = ours[0].info.get("x264")
    ref_x264: X264Info | None = ref[0].info.get("x264")
    if ours_x264 and ref_x264:
        print(f"x264 ours  : {ours_x264.version:<22} {ours_x264.threads}")
        print(f"x264 ffmpeg: {ref_x264.version:<22} {ref_x264.threads}")
        if ours_x264.version != ref_x264.version:
            print(
                "  NOTE: different x264 builds; the ratio includes x264's own version difference"
                + (
                    " (see pyav-min: the same libraries as ours, no engine code)"
                    if "pyav-min" in results
                    else " (run without --no-extra to see how much)"
                )
            )
        diff = {
            k: (ours_x264.options.get(k), ref_x264.options.get(k))
            for k in sorted(set(ours_x264.options) | set(ref_x264.options))
            if ours_x264.options.get(k) != ref_x264.options.get(k)
        }
        if diff:
            print(
                "  x264 options that differ (ours vs ffmpeg): "
                + ", ".join(f"{k}={a} vs {b}" for k, (a, b) in diff.items())
            )
        else:
            print("  x264 options written by both encoders are identical")
    print()
    header = (
        f"{'path':<24}{'media s':>9}{'CPU s':>9}{'CPU s/media s':>15}{'wall s':>9}"
        f"{'x realtime':>12}{'steal %':>9}"
    )
    print(header)
    print("-" * len(header))
    rows = {}
    for name, rs in results.items():
        if not rs:
            continue
        media = rs[0].media_s
        cpu, wall = _median(rs, "cpu_s"), _median(rs, "wall_s")
        steal = _median(rs, "steal_pct")
        rows[name] = {
            "media_s": media,
            "cpu_s": cpu,
            "cpu_per_media_s": cpu / media,
            "wall_s": wall,
            "steal_pct": steal,
            "runs_cpu_s": [round(r.cpu_s, 3) for r in rs],
        }
        print(
            f"{name:<24}{media:>9.1f}{cpu:>9.2f}{cpu / media:>15.3f}{wall:>9.2f}"
            f"{media / wall:>12.2f}{steal:>9.1f}"
        )
    print()
    ratio = rows["ours"]["cpu_per_media_s"] / rows["ffmpeg"]["cpu_per_media_s"]
    verdict = "met" if ratio <= 1.10 else "NOT met"
    print(f"ratio ours/ffmpeg (CPU s per media s): {ratio:.3f}   (target <= 1.10: {verdict})")
    per_run = [o.cpu_s / f.cpu_s for o, f in zip(ours, ref, strict=False)]
    print(
        f"  per run (ours and ffmpeg run back to back): {', '.join(f'{r:.3f}' for r in per_run)}"
        f"; median {statistics.median(per_run):.3f}"
    )
    out: dict[str, Any] = {"ratio_ours_ffmpeg": ratio, "per_run_ratios": per_run}
    if "pyav-min" in rows:
        r2 = rows["ours"]["cpu_s"] / rows["pyav-min"]["cpu_s"]
        r3 = rows["pyav-min"]["cpu_s"] / rows["ffmpeg"]["cpu_s"]
        print(f"ratio ours/pyav-min  (engine overhead over the same libraries): {r2:.3f}")
        print(
            f"ratio pyav-min/ffmpeg (PyAV's FFmpeg {machine['pyav_ffmpeg']} + x264 vs the "
            f"CLI's): {r3:.3f}"
        )
        out["ratio_ours_pyav_min"] = r2
        out["ratio_pyav_min_ffmpeg"] = r3
    if "decode only, ours" in rows and "decode only, ffmpeg" in rows:
        do, df = rows["decode only, ours"]["cpu_s"], rows["decode only, ffmpeg"]["cpu_s"]
        eo, ef = rows["ours"]["cpu_s"] - do, rows["ffmpeg"]["cpu_s"] - df
        print(
            f"after decode (total - decode only): ours {eo:.2f} s, ffmpeg {ef:.2f} s, "
            f"ratio {eo / ef:.3f}"
        )
        out["ratio_after_decode"] = eo / ef
        if "feed only, ours" in rows:
            # Paired per round (the two run back to back): machine speed drifts between rounds.
            harness = statistics.median(
                f.cpu_s - d.cpu_s
                for f, d in zip(
                    results["feed only, ours"], results["decode only, ours"], strict=True
                )
            )
            print(
                f"feeding harness (feed only - decode only, median per round): {harness:.2f} s "
                f"({100 * harness / rows['ours']['cpu_s']:.1f}% of ours); ratio ours/ffmpeg "
                f"without it: {(rows['ours']['cpu_s'] - harness) / rows['ffmpeg']['cpu_s']:.3f}"
            )
            out["harness_cpu_s"] = harness
    for name in ("ours", "pyav-min"):
        rs = results.get(name)
        if not rs or "threads" not in rs[0].info:
            continue
        print(f"CPU by thread, {name} (median s):")
        threads = {}
        for label in rs[0].info["threads"]:
            threads[label] = statistics.median(r.info["threads"][label] for r in rs)
            print(f"  {label:<60}{threads[label]:>7.2f}")
        rows[name]["threads"] = threads
    i = ours[-1].info
    print(
        f"checks (ours, every run): {i['video_frames_in']} video frames in, "
        f"{i['video_frames_dropped']} dropped, {i['video_slots_filled']} slots filled, "
        f"{i['audio_samples_filled']} audio samples filled, {i['video_packets']} video packets "
        f"({i['keyframes']} keyframes), {i['audio_packets']} AAC packets, "
        f"{i['segments']} segments; ffmpeg: {ref[-1].info['segments']} segments"
    )
    out.update(
        config={
            "seconds": cfg.seconds,
            "video": asdict(cfg.video),
            "audio_bitrate": cfg.audio_bitrate,
            "segment_duration": cfg.segment_duration,
        },
        machine=machine,
        ffmpeg_cli=ffmpeg_ver,
        x264={"ours": ours_x264 and asdict(ours_x264), "ffmpeg": ref_x264 and asdict(ref_x264)},
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
        "--no-extra", action="store_true", help="only ours and ffmpeg (no pyav-min, no decode-only)"
    )
    ap.add_argument("--profile", action="store_true", help="also cProfile one run of ours")
    ap.add_argument("--profile-top", type=int, default=30)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.seconds <= 0 or args.runs <= 0:
        ap.error("--seconds and --runs must be positive")

    try:
        cfg = make_config(args.seconds)
        machine = machine_info()
        ffmpeg_ver = ffmpeg_version(args.ffmpeg)
        clip = ensure_clip(args.ffmpeg, cfg, args.cache_dir)
        paths: list[tuple[str, Callable[[], RunResult]]] = [
            ("ours", lambda: run_ours(clip, cfg)),
            ("ffmpeg", lambda: run_ffmpeg(args.ffmpeg, clip, cfg)),
        ]
        if not args.no_extra:
            paths += [
                ("pyav-min", lambda: run_pyav_min(clip, cfg)),
                ("decode only, ours", lambda: run_ours_decode(clip, cfg)),
                ("feed only, ours", lambda: run_feed_only(clip, cfg)),
                ("decode only, ffmpeg", lambda: run_ffmpeg_decode(args.ffmpeg, clip, cfg)),
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
                    f"run {i + 1}/{args.runs} {name:<20} "
                    f"CPU {r.cpu_s:7.2f} s  wall {r.wall_s:6.2f} s",
                    flush=True,
                )
        summary = report(cfg, machine, ffmpeg_ver, results, args.runs)
        if args.profile:
            print()
            print(profile_ours(clip, cfg, args.profile_top))
        write_report(args.json, summary)
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
