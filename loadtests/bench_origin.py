#!/usr/bin/env python3
"""Concurrent LL-HLS viewers on one origin process, and plain segment fetches against nginx.

**Target: >= 5,000 concurrent held viewers on this 2-core machine with part delivery delay
p99 <= 100 ms.**

What runs (every piece in its own process):

* **origin**: this script's ``_origin`` mode, started with ``subprocess``: the real application
  (``api.app.create_app`` with an embedded PostgreSQL, every middleware and route) on a free
  port, as ``tests/conftest.py`` starts it. A live broadcast goes into it through a **replay
  publisher**: a thread of the origin process that hands pre-encoded packets to a real
  ``hls.output.HlsOutput`` at real time, exactly as the engine's encoder thread does (the
  packaging into parts and segments, the in-memory ``LiveBroadcast``, the blocking reload and
  the storage writes are all the production code; only x264/AAC encoding is skipped). The
  packets are the full default ladder (``engine.encoder.ladder(Settings())``: 720p, 480p, 240p
  + AAC) encoded once by a real ``StreamPipeline`` from ``bench_transcode``'s clip, 8 s long
  (whole AAC frames and whole 2 s segments) and looped with shifted timestamps. No server code
  is changed or wrapped: the harness owns the process, so it opens the broadcast through the
  node's owner (``live.broadcasts.LiveBroadcasts.open``) as the WHIP handler does.
* **viewers**: ``--clients`` load-generator processes (``multiprocessing``), each an asyncio loop
  of viewers. A viewer plays like an LL-HLS player: it joins at the live edge (the playlist's
  preload hint), then loops: blocking playlist request ``?_HLS_msn=M&_HLS_part=P`` for the next
  part, GET ``partM.P.m4s``, next part. Viewers are spread round-robin over the renditions and
  started evenly over ``--ramp`` seconds; figures cover ``--seconds`` after a warm-up.
* **nginx** (reference): a private nginx (``worker_processes 1``, on a free port, its own
  config and prefix in a temp dir) serving copies of a few segments the origin stored, to the
  same client code fetching them in a closed loop; our origin gets the same fetch load first.

Delivery delay = time the viewer has the response fully received - the time the origin
published the part. The publish time is the origin's own record,
``LiveBroadcast.published_at`` (``time.monotonic()`` in the origin when the part became
visible and held requests were woken), collected by the harness inside the origin process
and compared with the viewers' ``time.monotonic()``: ``CLOCK_MONOTONIC`` is one clock for every
process on a host. Nothing is exposed over HTTP for it. Two delays per part and viewer:
*playlist* (the blocking playlist response naming the part) and *part* (the part's bytes; the
headline figure).

By default (``--pin``) the origin, and later nginx, run on CPU 0 and everything else (load
generators, this script) on the other CPUs: one origin process is one Python event loop, so it
can use one core; the load generators, which in production would be the viewers' devices, get
the rest. They are still on the same machine: their CPU use is reported, and when they are
saturated the delays include their own lag (reported as "client lag"). The load generators run
with the cyclic GC off (they are not under test). ``--client raw`` replaces aiohttp's client
with a minimal keep-alive HTTP/1.1 client that costs several times less CPU per request: on 2
cores the aiohttp client cannot drive more than ~1000 viewers, so only ``raw`` finds the
origin's own limit.

Each run also reports: the origin's user/kernel CPU split and CPU per request, the database
transactions per second during the window (``pg_stat_database``: the origin's only database use
while serving is the playback-policy lookup), per-rendition delays, how close together the
renditions publish a part, and the CPU every other process on the machine used (``other%``:
this benchmark is only meaningful on an otherwise idle machine; ``--quiet-wait S`` waits up to
S seconds before each run for other processes to calm down). ``--profile`` samples the origin
with py-spy during the largest run and prints where its event loop spends its time.

The segment-fetch comparison has a third server between the two: a **minimal aiohttp app** (one
route, ``web.FileResponse``, the same headers; no middleware, database or policy check), which
splits the origin/nginx gap into "aiohttp itself" and "our application on top".

The exit status is non-zero only on errors (the origin or nginx failing to start, a load
generator crashing), never because a target is missed.

    .venv/bin/python loadtests/bench_origin.py                       # 1000,2500,5000 viewers, 30 s
    .venv/bin/python loadtests/bench_origin.py --viewers 50 --seconds 5 --fetch-seconds 3  # smoke
    .venv/bin/python loadtests/bench_origin.py --viewers 5000 --profile   # + py-spy of the origin
    .venv/bin/python loadtests/bench_origin.py --client raw    # lighter load generators (--help)
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import gc
import hashlib
import json
import math
import multiprocessing as mp
import os
import pickle
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402

from loadtests.common import free_port, write_report  # noqa: E402
from loadtests.common import percentile as pct  # noqa: E402

# The load generators import only the above; engine/HLS/bench_transcode are imported where used.

LOOP_SECONDS = 8  # replay loop: whole 1024-sample AAC frames at 48 kHz and whole 2 s segments
NOISY_PCT = 15  # other processes' CPU (% of a core) above which a run is flagged as disturbed
SERVERS = {  # the servers under test, both in the origin process, on the same broadcast
    "edge": "LL-HLS edge (hls/edge.py)",
    "app": "aiohttp app (hls/origin.py)",
}
PROTO = "@@bench "  # prefix of the origin runner's protocol lines on its stdout
# A part's URI in a playlist; with ``--token`` the origin appends ``?token=...`` to it.
_PART_URI = re.compile(rb'URI="part(\d+)\.(\d+)\.m4s[?"]')
_HINT = b'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part'


class BenchError(RuntimeError):
    """A part of the benchmark failed; the measurement is meaningless."""


# =========================================================================== shared helpers


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def ms(x: float) -> str:
    return "   -" if math.isnan(x) else f"{x * 1000:.0f}" if x >= 0.0995 else f"{x * 1000:.1f}"


# =========================================================================== recorded packets


def ensure_packets(cache_dir: Path) -> Path:
    """The default ladder's packets for an 8 s clip, encoded once by a real StreamPipeline."""
    from dataclasses import fields

    from engine.encoder import EncodedPacket, ladder
    from loadtests import bench_transcode as bt
    from teezu.settings import Settings

    settings = Settings()
    cfg = bt.make_config(LOOP_SECONDS)
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    clip = bt.ensure_clip(ffmpeg, cfg, cache_dir)
    rungs = ladder(settings)
    key = hashlib.sha1(
        json.dumps(
            [
                clip.name,
                repr(rungs),
                settings.audio_bitrate,
                [f.name for f in fields(EncodedPacket)],
            ]
        ).encode()
    ).hexdigest()[:10]
    path = cache_dir / f"ladder-packets-{LOOP_SECONDS}s-{key}.pkl"
    if path.exists():
        return path
    print(f"encoding the ladder once for the replay publisher: {path} ...", flush=True)
    info, packets = asyncio.run(_record_ladder(clip, cfg, settings, rungs))
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps((info, packets), protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, path)
    return path


async def _record_ladder(clip: Path, cfg: Any, settings: Any, rungs: list[Any]) -> Any:
    from engine.pipeline import StreamPipeline
    from engine.shedding import ShedPolicy
    from loadtests import bench_transcode as bt

    class Recorder:
        def __init__(self) -> None:
            self.info: Any = None
            self.packets: list[Any] = []

        def on_start(self, info: Any) -> None:
            self.info = info

        def on_packet(self, packet: Any) -> None:
            self.packets.append(packet)

        def on_end(self) -> None:
            pass

        async def drain(self) -> None:
            pass

    rec = Recorder()
    pipeline = StreamPipeline(
        "recorder",
        rungs,
        [rec],
        audio_bitrate=settings.audio_bitrate,
        # A recording, not a live session: never fill gaps by the wall clock (a loaded machine
        # may encode slower than real time) and never drop (the feed has backpressure).
        gap_fill_after=1e9,
        video_backlog=bt.FEED_BACKLOG,
        # Fed faster than real time on purpose: shedding would drop what is measured.
        shed_policy=ShedPolicy(max_step=0),
        audio_backlog_seconds=bt.FEED_BACKLOG,
    )
    source = bt.ClipSource(clip, backlog=pipeline.waiting)
    pipeline.start()
    pipeline.attach(source.video)
    pipeline.attach(source.audio)
    assert source.finished is not None
    await source.finished.wait()
    await pipeline.stop()
    st = pipeline.stats
    if pipeline.error or st.video_frames_dropped or st.video_slots_filled:
        raise BenchError(f"recording the ladder failed: {pipeline.error!r} {st}")
    # Keep one loop's worth: the flush adds a last partial AAC frame past the end.
    keep = [p for p in rec.packets if p.pts < LOOP_SECONDS * p.timescale]
    return rec.info, keep


# =========================================================================== the origin process


class Replayer(threading.Thread):
    """Hands recorded packets to an HlsOutput at real time, as the encoder thread would."""

    def __init__(self, output: Any, info: Any, packets: list[Any]) -> None:
        super().__init__(name="replay-publisher", daemon=True)
        self.output = output
        self.info = info
        # A video packet is ready when its frame is captured; an AAC packet when its last
        # sample is (the encoder cannot emit it earlier).
        self.schedule = sorted(
            (
                ((p.pts + (p.duration if p.kind == "audio" else 0)) / p.timescale, i, p)
                for i, p in enumerate(packets)
            ),
            key=lambda x: (x[0], x[1]),
        )
        self.stop_event = threading.Event()
        self.loops = 0

    def run(self) -> None:
        from dataclasses import replace

        out = self.output
        out.on_start(self.info)
        t0 = time.monotonic() + 0.05
        k = 0
        while not self.stop_event.is_set():
            for due, _, p in self.schedule:
                wait = t0 + k * LOOP_SECONDS + due - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    break
                shift = k * LOOP_SECONDS * p.timescale
                out.on_packet(replace(p, pts=p.pts + shift, dts=p.dts + shift))
            k += 1
            self.loops = k
        out.on_end()


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(PROTO + json.dumps(obj) + "\n")
    sys.stdout.flush()


async def minimal_main(args: argparse.Namespace) -> None:
    """``_minimal``: one route, FileResponse, the origin's segment headers; nothing else."""
    from aiohttp import web

    from hls.output import SEGMENT_CACHE

    root = Path(args.root)  # absolute: the benchmark passes its temp dir
    headers = {
        "Content-Type": "video/iso.segment",
        "Cache-Control": SEGMENT_CACHE,
        "Access-Control-Allow-Origin": "*",
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        if ".." in tail.split("/"):
            raise web.HTTPNotFound()
        return web.FileResponse(root / tail, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.+}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port, backlog=args.backlog).start()
    _emit({"event": "ready", "pid": os.getpid()})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while True:
            line = await reader.readline()
            if not line or json.loads(line)["cmd"] == "quit":
                break
    finally:
        await runner.cleanup()
    _emit({"bye": True})


async def origin_main(args: argparse.Namespace) -> None:
    from aiohttp import web

    from api.app import create_app
    from api.keys import EDGE, POOL
    from api.moderation import store as safety_store
    from api.streams import store
    from live.broadcasts import BROADCASTS
    from teezu.logging import configure_logging
    from teezu.settings import Settings

    settings = Settings(
        port=args.port,
        edge_port=args.edge_port,
        host="127.0.0.1",
        var_dir=Path(args.var_dir),
        node_id="bench-origin",
        moderation_enabled=False,  # no frames here (a replay of encoded packets): no workers
        # An open stream (public, no age gate): the edge's fast path; with --token a
        # followers-only stream, every request carrying a signed playback token.
        age_gate_enabled=False,
    )
    configure_logging("console", "WARNING")
    app = create_app(settings, dsn=args.dsn)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=args.backlog)
    await site.start()
    loop = asyncio.get_running_loop()

    info, packets = pickle.loads(await asyncio.to_thread(Path(args.packets).read_bytes))
    # A real stream row (public), opened as this node's broadcast the way WHIP opens one (the
    # claim, the run, the started outputs, listed for the origin and the edge): the origin
    # checks the stream's visibility in the database (cached) before serving it. Its pipeline
    # never runs: the replay publisher feeds its HLS output.
    pool = app[POOL]
    row, _token = await store.create_stream(
        pool,
        title="origin benchmark",
        creator_handle="bench",
        visibility="followers" if args.token else "public",
    )
    stream_id = str(row.id)
    playback_token = _bench_token(settings, stream_id) if args.token else ""
    broadcast = await app[BROADCASTS].open(row, await safety_store.get_safety(pool, row.id))
    output = broadcast.hls
    replayer = Replayer(output, info, packets)
    replayer.start()
    await output.started.wait()
    live = output.live
    assert live is not None
    # Ready once every rendition lists two whole segments (what a player needs to start).
    while True:
        if min(r.last_segment for r in live.renditions.values()) >= 1:
            break
        await asyncio.sleep(0.05)

    # The origin's publish times, copied before LiveBroadcast prunes them (after ~3 segments).
    published: dict[tuple[str, int, int], float] = {}
    unsent: list[list[Any]] = []

    async def snapshot() -> None:
        while True:
            for name, r in live.renditions.items():
                for (msn, idx), t in list(r.published_at.items()):
                    if (name, msn, idx) not in published:
                        published[(name, msn, idx)] = t
                        unsent.append([name, msn, idx, t])
            await asyncio.sleep(0.2)

    snap = loop.create_task(snapshot())
    # The cyclic GC's pauses (monotonic start, generation, seconds): a full collection in the
    # middle of a burst delays every response behind it.
    gc_pauses: list[tuple[float, int, float]] = []
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.monotonic()
        else:
            gc_pauses.append((gc_started[0], info["generation"], time.monotonic() - gc_started[0]))

    gc.callbacks.append(on_gc)
    _emit(
        {
            "event": "ready",
            "pid": os.getpid(),
            "stream_id": stream_id,
            "run": output.run,
            "renditions": list(live.renditions),
            "parts_per_segment": live.parts_per_segment,
            "part_duration": settings.part_duration,
            "segment_duration": settings.segment_duration,
            "media_dir": str(settings.media_dir.resolve()),
            "edge_port": app[EDGE].port if EDGE in app else 0,
            "token": playback_token,
        }
    )

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = json.loads(line)["cmd"]
            if cmd == "published":
                batch, unsent[:] = list(unsent), []
                pauses, gc_pauses[:] = list(gc_pauses), []
                releases = list(app[EDGE].stats.releases) if EDGE in app else []
                _emit({"published": batch, "gc": pauses, "releases": releases})
            elif cmd == "end":
                replayer.stop_event.set()
                await asyncio.to_thread(replayer.join)
                await output.drain()
                await asyncio.sleep(0.3)  # the last snapshot
                _emit(
                    {
                        "ended": True,
                        "segments": {
                            name: sorted(
                                int(p.stem[3:])
                                for p in (settings.media_dir / output.prefix(name)).glob("seg*.m4s")
                            )
                            for name in live.renditions
                        },
                    }
                )
            elif cmd == "sizes":  # what a viewer's two responses per part weigh, on average
                parts = [len(d) for r in live.renditions.values() for d in r.parts.values()]
                lists = [len(live.playlist(name)) for name in live.renditions]
                _emit({"part": statistics.mean(parts), "playlist": statistics.mean(lists)})
            elif cmd == "quit":
                break
    finally:
        snap.cancel()
        replayer.stop_event.set()
        await runner.cleanup()
    _emit({"bye": True})


def _bench_token(settings: Any, stream_id: str) -> str:
    """A playback token for every viewer of the gated run (``--token``), as the API signs it."""
    from hls.access import sign_playback_token

    expires = int(time.time()) + 3000
    return sign_playback_token(settings.playback_key_bytes(), stream_id, "bench", expires, epoch=0)


@dataclass
class Origin:
    """The origin process, seen from the benchmark."""

    proc: subprocess.Popen[str]
    port: int
    info: dict[str, Any]
    published: dict[tuple[int, int, int], float] = field(default_factory=dict)
    gc_pauses: list[tuple[float, ...]] = field(default_factory=list)  # since the last collect
    releases: list[tuple[float, ...]] = field(default_factory=list)  # the edge's, recent ones

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def renditions(self) -> list[str]:
        return list(self.info["renditions"])

    def url(self, rendition: str, name: str) -> str:
        return f"/hls/{self.info['stream_id']}/{self.info['run']}/{rendition}/{name}"

    def call(self, cmd: str, timeout: float = 30.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd}) + "\n")
        self.proc.stdin.flush()
        return _read_proto(self.proc, timeout)

    def collect_published(self) -> None:
        index = {name: i for i, name in enumerate(self.renditions)}
        reply = self.call("published")
        for name, msn, idx, t in reply["published"]:
            self.published[(index[name], msn, idx)] = t
        self.gc_pauses = [tuple(p) for p in reply["gc"]]
        self.releases = [tuple(r) for r in reply["releases"]]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.call("quit", timeout=15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _read_proto(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise BenchError(f"the origin process exited (status {proc.wait()})")
        if line.startswith(PROTO):
            return json.loads(line[len(PROTO) :])
    raise BenchError("the origin process did not answer in time")


def start_origin(
    dsn: str,
    var_dir: Path,
    packets: Path,
    cpus: set[int] | None,
    log: Path,
    loop: str,
    token: bool = False,
) -> Origin:
    """The app (and its LL-HLS edge, on another port) with a replayed broadcast."""
    port = free_port()
    args = ["--dsn", dsn, "--var-dir", str(var_dir), "--packets", str(packets)]
    args += ["--edge-port", str(free_port()), "--loop", loop]
    if token:
        args.append("--token")
    return _spawn("_origin", port, args, cpus, log)


def start_minimal(www: Path, cpus: set[int] | None, log: Path) -> Origin:
    """A bare aiohttp app serving ``www`` with FileResponse (the framework's floor)."""
    return _spawn("_minimal", free_port(), ["--root", str(www)], cpus, log)


def _spawn(mode: str, port: int, args: list[str], cpus: set[int] | None, log: Path) -> Origin:
    cmd = [sys.executable, str(Path(__file__).resolve()), mode, "--port", str(port), *args]
    errlog = log.open("w")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errlog,
        text=True,
        cwd=ROOT,
        # Pinned before exec, so every thread the origin creates inherits it.
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    errlog.close()
    try:
        info = _read_proto(proc, 120)
    except BenchError as exc:
        proc.kill()
        raise BenchError(f"{exc}; its log:\n{log.read_text()[-3000:]}") from None
    return Origin(proc, port, info)


# =========================================================================== load generators


def _response_head(buf: bytearray) -> tuple[int, int, int] | None:
    """(status, where the body starts, Content-Length) of the response at the start of ``buf``;
    None while the head is incomplete. Both test clients only read Content-Length framing."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    head = bytes(buf[:i]).lower()
    j = head.find(b"\r\ncontent-length:")
    if j < 0:
        raise ConnectionError("response without Content-Length")
    k = head.find(b"\r\n", j + 2)
    return int(head[9:12]), i + 4, int(head[j + 17 : k if k >= 0 else None])


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on one connection (``--client raw``).

    GET only, responses with Content-Length only (all our origin and nginx send here). It
    exists to show how much of the machine aiohttp's client takes: several times less CPU per
    request, so more of the 2 cores is left to the server under test.
    """

    class _Proto(asyncio.Protocol):
        def __init__(self) -> None:
            self.transport: asyncio.Transport | None = None
            self.buf = bytearray()
            self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
            self.closed = False
            self._body_at = -1
            self._end = -1
            self._status = 0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]  # (uvloop's: no subclass)

        def data_received(self, data: bytes) -> None:
            self.buf += data
            if self.waiter is not None:
                self._parse()

        def _parse(self) -> None:
            if self._end < 0:
                try:
                    head = _response_head(self.buf)
                except ConnectionError as exc:
                    self._fail(exc)
                    return
                if head is None:
                    return
                self._status, self._body_at, length = head
                self._end = self._body_at + length
            if len(self.buf) >= self._end:
                body = bytes(self.buf[self._body_at : self._end])
                del self.buf[: self._end]
                self._end = -1
                waiter, self.waiter = self.waiter, None
                if waiter is not None and not waiter.done():
                    waiter.set_result((self._status, body))

        def _fail(self, exc: Exception) -> None:
            waiter, self.waiter = self.waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            if self.transport is not None:
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self.closed = True
            self._fail(ConnectionError(f"connection lost: {exc}"))

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._proto: RawConnection._Proto | None = None
        self._host_header = f"{host}:{port}".encode()

    async def get(self, path: str) -> tuple[int, bytes]:
        if self._proto is None or self._proto.closed:
            loop = asyncio.get_running_loop()
            _, proto = await loop.create_connection(RawConnection._Proto, self.host, self.port)
            self._proto = proto
        proto = self._proto
        assert proto.transport is not None
        proto.waiter = asyncio.get_running_loop().create_future()
        proto.buf.clear()
        proto.transport.write(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + self._host_header + b"\r\n\r\n"
        )
        return await proto.waiter

    async def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()


class AiohttpConnection:
    """One shared aiohttp session (no connection limit): each viewer's requests go through it."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def get(self, path: str) -> tuple[int, bytes]:
        async with self.session.get(self.base + path) as res:
            return res.status, await res.read()

    async def close(self) -> None:
        pass


@dataclass
class ClientState:
    errors: Counter[str] = field(default_factory=Counter)
    blocked: int = 0  # viewers waiting on a blocking playlist request right now
    running: int = 0  # viewer loops running
    requests: int = 0  # completed in the window
    bytes: int = 0  # body bytes received in the window
    # viewers: one row per part delivered
    viewer: array.array[int] = field(default_factory=lambda: array.array("i"))
    rend: array.array[int] = field(default_factory=lambda: array.array("b"))
    msn: array.array[int] = field(default_factory=lambda: array.array("i"))
    idx: array.array[int] = field(default_factory=lambda: array.array("h"))
    t_req: array.array[float] = field(default_factory=lambda: array.array("d"))
    t_pl: array.array[float] = field(default_factory=lambda: array.array("d"))
    t_part: array.array[float] = field(default_factory=lambda: array.array("d"))
    # fetches: one latency per request completed in the window
    latency: array.array[float] = field(default_factory=lambda: array.array("d"))


def _next_after(body: bytes, key: bytes, start: int) -> tuple[int, int] | None:
    m = _PART_URI.search(body, start + len(key))
    return (int(m[1]), int(m[2])) if m else None


def _hint(body: bytes) -> tuple[int, int] | None:
    i = body.find(_HINT)
    if i < 0:
        return None
    m = _PART_URI.match(body, i + len(_HINT) - len(b'URI="part'))
    return (int(m[1]), int(m[2])) if m else None


def _after_playlist(
    st: ClientState, status: int, body: bytes, want: tuple[int, int], in_window: bool
) -> tuple[bool, tuple[int, int] | None, tuple[int, int] | None]:
    """A viewer's step after a blocking playlist response, whichever client it uses.

    Returns (fetch the part?, the part wanted next or now, the part after it).
    """
    if in_window:
        st.requests += 1
        st.bytes += len(body)
    if status != 200:
        if in_window:
            st.errors[f"playlist: HTTP {status}"] += 1
        return False, want if status == 503 else None, None  # 503: the hold timed out
    key = b'URI="part%d.%d.m4s' % want  # then '"' or '?token=...'
    at = body.find(key)
    if at < 0:
        if in_window:
            st.errors["part no longer listed (viewer fell behind)"] += 1
        return False, _hint(body), None
    return True, want, _next_after(body, key, at)


def _after_part(
    st: ClientState,
    status: int,
    size: int,
    in_window: bool,
    row: tuple[int, int, int, int, float, float, float],
) -> None:
    """Records a part delivery: row = (viewer, rendition, msn, part, t_req, t_pl, t_part)."""
    if in_window:
        st.requests += 1
        st.bytes += size
    if status != 200:
        if in_window:
            st.errors[f"part: HTTP {status}"] += 1
        return
    vid, rend, msn, idx, t_req, t_pl, t_part = row
    st.viewer.append(vid)
    st.rend.append(rend)
    st.msn.append(msn)
    st.idx.append(idx)
    st.t_req.append(t_req)
    st.t_pl.append(t_pl)
    st.t_part.append(t_part)


async def _viewer(
    conn: AiohttpConnection | RawConnection,
    vid: int,
    rend: int,
    playlist: str,
    base: str,
    start_at: float,
    w0: float,
    w1: float,
    st: ClientState,
    query: str = "",
) -> None:
    """``query``: ``token=...`` (``--token``), carried on every request, or empty."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    st.running += 1
    want: tuple[int, int] | None = None
    join = f"{playlist}?{query}" if query else playlist
    extra = f"&{query}" if query else ""
    part_query = f"?{query}" if query else ""
    try:
        while True:
            if want is None:  # join (or rejoin) at the live edge
                status, body = await conn.get(join)
                if status != 200 or (want := _hint(body)) is None:
                    st.errors[f"join: HTTP {status}"] += 1
                    await asyncio.sleep(0.5)
                    continue
            msn, idx = want
            t_req = time.monotonic()
            st.blocked += 1
            try:
                status, body = await conn.get(f"{playlist}?_HLS_msn={msn}&_HLS_part={idx}{extra}")
            finally:
                st.blocked -= 1
            t_pl = time.monotonic()
            fetch, want, nxt = _after_playlist(st, status, body, (msn, idx), w0 <= t_pl <= w1)
            if not fetch:
                continue
            status, data = await conn.get(f"{base}part{msn}.{idx}.m4s{part_query}")
            t_part = time.monotonic()
            row = (vid, rend, msn, idx, t_req, t_pl, t_part)
            _after_part(st, status, len(data), w0 <= t_part <= w1, row)
            want = nxt
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if w0 <= time.monotonic() <= w1:
            st.errors[f"viewer died: {type(exc).__name__}: {exc}"[:120]] += 1
    finally:
        st.running -= 1


class LeanViewer(asyncio.Protocol):
    """The viewer loop of :func:`_viewer` as protocol callbacks (``--client lean``).

    The same requests, the same bookkeeping, the same errors, but no Task, Future or await per
    request, and a part's bytes are counted, not kept: several times less CPU per request than
    ``raw``, so one core of load generators can keep up with thousands of viewers whose parts
    all arrive in the same burst. The load-generator process runs it on uvloop.
    """

    JOIN, PLAYLIST, PART = 0, 1, 2

    def __init__(
        self,
        vid: int,
        rend: int,
        playlist: str,
        host: str,
        w0: float,
        w1: float,
        st: ClientState,
        query: str = "",
    ) -> None:
        self.vid, self.rend, self.w0, self.w1, self.st = vid, rend, w0, w1, st
        tail = b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n"
        q = query.encode()
        self.join_request = b"GET " + playlist.encode() + (b"?" + q if q else b"") + tail
        self.playlist_tail = (b"&" + q if q else b"") + tail
        self.part_tail = (b"?" + q if q else b"") + tail
        self.playlist_prefix = b"GET " + playlist.encode() + b"?_HLS_msn="
        self.part_prefix = b"GET " + playlist[: -len("index.m3u8")].encode() + b"part"
        self.tail = tail
        self.transport: asyncio.Transport | None = None
        self.phase = self.JOIN
        self.want: tuple[int, int] | None = None
        self.nxt: tuple[int, int] | None = None
        self.head = bytearray()
        self.body = bytearray()
        self.status = 0
        self.left = -1  # body bytes still to come; -1: reading the head
        self.length = 0  # Content-Length of the response being read
        self.t_req = self.t_pl = 0.0
        self.alive = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.alive = True
        self.st.running += 1
        self._join()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.alive:
            self.alive = False
            self.st.running -= 1
            if self.phase == self.PLAYLIST:
                self.st.blocked -= 1
            if self.w0 <= time.monotonic() <= self.w1:
                self.st.errors[f"viewer died: connection lost: {exc}"[:120]] += 1

    def stop(self) -> None:
        if self.transport is not None:
            self.alive = False
            self.transport.close()

    def _send(self, data: bytes) -> None:
        if self.transport is not None and self.alive:
            self.transport.write(data)

    def _join(self) -> None:
        self.phase = self.JOIN
        self._send(self.join_request)

    def _ask_playlist(self) -> None:
        if self.want is None:
            self._join()
            return
        msn, idx = self.want
        self.phase = self.PLAYLIST
        self.t_req = time.monotonic()
        self.st.blocked += 1
        self._send(self.playlist_prefix + b"%d&_HLS_part=%d" % (msn, idx) + self.playlist_tail)

    def data_received(self, data: bytes) -> None:
        if self.left < 0:
            self.head += data
            try:
                parsed = _response_head(self.head)
            except ConnectionError:
                self.stop()
                return
            if parsed is None:
                return
            self.status, body_at, self.length = parsed
            rest = self.head[body_at:]
            self.head = bytearray()
            self.left = self.length - len(rest)
            if self.phase != self.PART:
                self.body = rest
        else:
            self.left -= len(data)
            if self.phase != self.PART:
                self.body += data
        if self.left <= 0:
            self.left = -1
            self._complete(bytes(self.body) if self.phase != self.PART else b"")

    def _complete(self, body: bytes) -> None:
        st, now = self.st, time.monotonic()
        in_window = self.w0 <= now <= self.w1
        status = self.status
        if self.phase == self.JOIN:
            self.want = _hint(body) if status == 200 else None
            if self.want is None:
                st.errors[f"join: HTTP {status}"] += 1
                asyncio.get_running_loop().call_later(0.5, self._join)
                return
            self._ask_playlist()
        elif self.phase == self.PLAYLIST:
            st.blocked -= 1
            self.t_pl = now
            assert self.want is not None
            fetch, self.want, self.nxt = _after_playlist(st, status, body, self.want, in_window)
            if not fetch:
                self._ask_playlist()
                return
            self.phase = self.PART
            self._send(self.part_prefix + b"%d.%d.m4s" % self.want + self.part_tail)
        else:
            assert self.want is not None
            msn, idx = self.want
            row = (self.vid, self.rend, msn, idx, self.t_req, self.t_pl, now)
            _after_part(st, status, self.length, in_window, row)
            self.want = self.nxt
            self._ask_playlist()


async def _fetcher(
    conn: AiohttpConnection | RawConnection,
    paths: list[str],
    start_at: float,
    w0: float,
    w1: float,
    st: ClientState,
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    st.running += 1
    i = 0
    try:
        while True:
            t0 = time.monotonic()
            try:
                status, body = await conn.get(paths[i % len(paths)])
            except (aiohttp.ClientError, ConnectionError, OSError) as exc:
                if w0 <= time.monotonic() <= w1:
                    st.errors[f"{type(exc).__name__}"] += 1
                await asyncio.sleep(0.1)
                continue
            t1 = time.monotonic()
            i += 1
            if w0 <= t1 <= w1:
                if status != 200:
                    st.errors[f"HTTP {status}"] += 1
                    continue
                st.requests += 1
                st.bytes += len(body)
                st.latency.append(t1 - t0)
    finally:
        st.running -= 1


async def _client_async(conn: Connection, p: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    st = ClientState()
    session: aiohttp.ClientSession | None = None
    if p["client"] == "aiohttp":
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=30),
            auto_decompress=False,
        )
    base_url = f"http://{p['host']}:{p['port']}"

    def new_conn() -> AiohttpConnection | RawConnection:
        if session is not None:
            return AiohttpConnection(session, base_url)
        return RawConnection(p["host"], p["port"])  # also lean's fetches (not its viewers)

    lean: list[LeanViewer] = []

    async def connect_lean(viewer: LeanViewer, start_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        try:
            await loop.create_connection(lambda: viewer, p["host"], p["port"])
        except OSError as exc:
            st.errors[f"connect: {type(exc).__name__}: {exc}"[:120]] += 1

    conn.send({"ready": True})
    plan = await loop.run_in_executor(None, conn.recv)
    t_start, ramp, w0, w1, stop_at = (plan[k] for k in ("t_start", "ramp", "w0", "w1", "stop_at"))
    total = p["total"]
    conns: list[AiohttpConnection | RawConnection] = []
    tasks = []
    for gi in range(p["first"], p["first"] + p["count"]):
        start_at = t_start + ramp * gi / max(1, total)
        if p["mode"] == "viewers" and p["client"] == "lean":
            rend = gi % len(p["renditions"])
            playlist = p["playlists"][p["renditions"][rend]]
            host = f"{p['host']}:{p['port']}"
            lean.append(LeanViewer(gi, rend, playlist, host, w0, w1, st, p["query"]))
            tasks.append(loop.create_task(connect_lean(lean[-1], start_at)))
            continue
        c = new_conn()
        conns.append(c)
        if p["mode"] == "viewers":
            rend = gi % len(p["renditions"])
            name = p["renditions"][rend]
            playlist = p["playlists"][name]
            coro = _viewer(c, gi, rend, playlist, playlist[: -len("index.m3u8")], start_at,
                           w0, w1, st, p["query"])  # fmt: skip
        else:
            paths = p["fetch_paths"]
            mine = paths[gi % len(paths) :] + paths[: gi % len(paths)]
            coro = _fetcher(c, mine, start_at, w0, w1, st)
        tasks.append(loop.create_task(coro))

    # Event-loop lag of this load generator (how late its own timers fire) and held requests.
    lags: list[float] = []
    samples: list[tuple[int, int]] = []

    async def monitor() -> None:
        await asyncio.sleep(max(0.0, w0 - time.monotonic()))
        last_tick = -1
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(0.05)
            now = time.monotonic()
            if now > w1:
                return
            lags.append(now - t0 - 0.05)  # how late a 50 ms timer fired
            tick = int((now - w0) / 0.25)  # the same 0.25 s ticks in every load generator
            if tick != last_tick:
                samples.append((tick, st.blocked))
                last_tick = tick

    mon = loop.create_task(monitor())
    # The load generators are not under test: no cyclic-GC pauses in their measurements.
    gc.collect()
    gc.freeze()
    gc.disable()
    await asyncio.sleep(max(0.0, w0 - time.monotonic()))
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(max(0.0, w1 - time.monotonic()))
    cpu1, wall1 = time.process_time(), time.monotonic()
    running_at_end = st.running
    await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
    for t in tasks:
        t.cancel()
    mon.cancel()
    await asyncio.gather(*tasks, mon, return_exceptions=True)
    for c in conns:
        await c.close()
    for v in lean:
        v.stop()
    if session is not None:
        await session.close()
    conn.send(
        {
            "errors": dict(st.errors),
            "running_at_end": running_at_end,
            "requests": st.requests,
            "bytes": st.bytes,
            "cpu_s": cpu1 - cpu0,
            "wall_s": wall1 - wall0,
            "lags": lags,
            "blocked": samples,
            "viewer": st.viewer.tobytes(),
            "rend": st.rend.tobytes(),
            "msn": st.msn.tobytes(),
            "idx": st.idx.tobytes(),
            "t_req": st.t_req.tobytes(),
            "t_pl": st.t_pl.tobytes(),
            "t_part": st.t_part.tobytes(),
            "latency": st.latency.tobytes(),
        }
    )


def client_entry(conn: Connection, p: dict[str, Any]) -> None:
    """A load-generator process."""
    raise_nofile()
    if p.get("cpus"):
        os.sched_setaffinity(0, p["cpus"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    try:
        if p["client"] == "lean":
            import uvloop

            uvloop.run(_client_async(conn, p))
        else:
            asyncio.run(_client_async(conn, p))
    except BaseException as exc:
        conn.send({"fatal": f"{type(exc).__name__}: {exc}"})
        raise


@dataclass(frozen=True)
class Phase:
    mode: str  # "viewers" or "fetch"
    count: int  # viewers or concurrent fetchers
    seconds: float
    ramp: float
    warmup: float
    grace: float  # viewers keep going this long after the window (parts published at its end)


def run_clients(
    phase: Phase,
    base: dict[str, Any],
    clients: int,
    cpus: set[int] | None,
    server_pid: int,
    during_window: Any = None,
    db_count: Any = None,
) -> dict[str, Any]:
    """Start the load generators, run one phase, return their merged results + server CPU."""
    ctx = mp.get_context("spawn")
    procs, pipes = [], []
    n = phase.count
    clients = max(1, min(clients, n))
    first = 0
    for i in range(clients):
        count = n // clients + (1 if i < n % clients else 0)
        params = dict(base, mode=phase.mode, total=n, first=first, count=count)
        params["cpus"] = sorted(cpus) if cpus else None
        first += count
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=client_entry, args=(child, params), daemon=True)
        proc.start()
        procs.append(proc)
        pipes.append(parent)
    try:
        for pipe, proc in zip(pipes, procs, strict=True):
            if not pipe.poll(60):
                raise BenchError(f"load generator {proc.pid} did not start")
            msg = pipe.recv()
            if "fatal" in msg:
                raise BenchError(f"load generator failed: {msg['fatal']}")
        t_start = time.monotonic() + 0.5
        w0 = t_start + phase.ramp + phase.warmup
        w1 = w0 + phase.seconds
        plan = {
            "t_start": t_start,
            "ramp": phase.ramp,
            "w0": w0,
            "w1": w1,
            "stop_at": w1 + phase.grace,
        }
        for pipe in pipes:
            pipe.send(plan)
        server = psutil.Process(server_pid)
        time.sleep(max(0.0, w0 - time.monotonic()))
        s0 = server.cpu_times()
        steal0 = _steal()
        busy0 = _busy()
        db0 = db_count() if db_count else 0
        extra = during_window(phase.seconds) if during_window else None
        time.sleep(max(0.0, w1 - time.monotonic()))
        s1 = server.cpu_times()
        steal1 = _steal()
        busy1 = _busy()
        db1 = db_count() if db_count else 0
        rss = server.memory_info().rss
        results = []
        for pipe, proc in zip(pipes, procs, strict=True):
            if not pipe.poll(phase.grace + 120):
                raise BenchError(f"load generator {proc.pid} did not report")
            msg = pipe.recv()
            if "fatal" in msg:
                raise BenchError(f"load generator failed: {msg['fatal']}")
            results.append(msg)
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    server_cpu = (s1.user + s1.system) - (s0.user + s0.system)
    return {
        "clients": results,
        "server_cpu_s": server_cpu,
        "server_sys_s": s1.system - s0.system,
        "server_rss": rss,
        "window": (w0, w1),
        "steal_s": steal1 - steal0,
        "machine_busy_s": busy1 - busy0,
        "db_transactions": db1 - db0,
        "extra": extra() if callable(extra) else extra,
    }


def db_transactions(dsn: str) -> int:
    """Transactions committed or rolled back in the database so far (pg_stat_database)."""
    import asyncpg

    async def q() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(
                await conn.fetchval(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
            )
        finally:
            await conn.close()

    return asyncio.run(q())


def _busy() -> float:
    """CPU seconds the whole machine spent not idle (every process, all CPUs)."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0)


def _others_pct(raw: dict[str, Any], wall: float) -> float:
    """CPU used by processes outside the benchmark during the window (100% = one core)."""
    ours = raw["server_cpu_s"] + sum(c["cpu_s"] for c in raw["clients"])
    return max(0.0, 100 * (raw["machine_busy_s"] - ours) / wall)


def wait_for_quiet(max_wait: float, ours: list[int]) -> float:
    """Wait (up to ``max_wait`` s) until other processes use < NOISY_PCT of a core; their %."""
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        procs = [psutil.Process(p) for p in ours if psutil.pid_exists(p)]
        c0, b0, t0 = sum(sum(p.cpu_times()[:2]) for p in procs), _busy(), time.monotonic()
        time.sleep(2.0)
        c1, b1, t1 = sum(sum(p.cpu_times()[:2]) for p in procs), _busy(), time.monotonic()
        others = 100 * max(0.0, (b1 - b0) - (c1 - c0)) / (t1 - t0)
        if others < NOISY_PCT or time.monotonic() >= deadline:
            if announced:
                print(f"  (other processes now at {others:.0f}% of a core)", flush=True)
            return others
        if not announced:
            print(
                f"  waiting up to {max_wait:.0f} s for other processes to calm down "
                f"({others:.0f}% of a core) ...",
                flush=True,
            )
            announced = True
        time.sleep(3.0)


def _steal() -> float:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# =========================================================================== analysis


def analyse_viewers(
    phase: Phase, raw: dict[str, Any], origin: Origin, parts_per_segment: int
) -> dict[str, Any]:
    import numpy as np

    w0, w1 = raw["window"]
    cols: dict[str, list[Any]] = defaultdict(list)
    types = {
        "viewer": np.int32, "rend": np.int8, "msn": np.int32, "idx": np.int16,
        "t_req": np.float64, "t_pl": np.float64, "t_part": np.float64,
    }  # fmt: skip
    errors: Counter[str] = Counter()
    for c in raw["clients"]:
        for k, t in types.items():
            cols[k].append(np.frombuffer(c[k], dtype=t))
        errors.update(c["errors"])
    a = {k: np.concatenate(v) if v else np.zeros(0, dtype=types[k]) for k, v in cols.items()}
    pub_map = origin.published
    pub = np.array(
        [
            pub_map.get((int(r), int(m), int(i)), np.nan)
            for r, m, i in zip(a["rend"], a["msn"], a["idx"], strict=True)
        ],
        dtype=np.float64,
    )
    unmatched = int(np.isnan(pub).sum())
    sel = (pub >= w0) & (pub <= w1)
    d_pl = a["t_pl"][sel] - pub[sel]
    d_part = a["t_part"][sel] - pub[sel]
    late_req = a["t_req"][sel] > pub[sel]  # asked after the part was out: the viewer was behind
    # Expected deliveries: every part published in the window, to every viewer of its rendition.
    n_rend = len(origin.renditions)
    viewers_per_rend = [len(range(r, phase.count, n_rend)) for r in range(n_rend)]
    parts_in_window = [0] * n_rend
    for (r, _, _), t in pub_map.items():
        if w0 <= t <= w1:
            parts_in_window[r] += 1
    expected = sum(p * v for p, v in zip(parts_in_window, viewers_per_rend, strict=True))
    per_viewer = np.bincount(a["viewer"][sel], minlength=phase.count)
    want = np.array([parts_in_window[v % n_rend] for v in range(phase.count)])
    fully = int((per_viewer >= want).sum())
    lags = [x for c in raw["clients"] for x in c["lags"]]
    blocked_by_tick: dict[int, int] = defaultdict(int)
    for c in raw["clients"]:
        for k, b in c["blocked"]:
            blocked_by_tick[k] += b
    blocked = sorted(blocked_by_tick.values())
    first_arrival: dict[tuple[int, int, int], float] = {}
    for r, m, i, t in zip(
        a["rend"][sel], a["msn"][sel], a["idx"][sel], a["t_pl"][sel], strict=True
    ):
        key = (int(r), int(m), int(i))
        if t < first_arrival.get(key, math.inf):
            first_arrival[key] = t
    first_delay = [t - pub_map[k] for k, t in first_arrival.items()]
    client_cpu = sum(c["cpu_s"] for c in raw["clients"])
    wall = phase.seconds
    per_rendition = {}
    for r, name in enumerate(origin.renditions):
        mine = a["rend"][sel] == r
        per_rendition[name] = {
            "part_p50": pct(d_part[mine], 50),
            "part_p99": pct(d_part[mine], 99),
            "first_playlist_p50": pct(
                [t - pub_map[k] for k, t in first_arrival.items() if k[0] == r], 50
            ),
        }
    # How close together the renditions publish the same part (they usually do: the same audio
    # packet completes it in every rendition), i.e. whether all viewers wake in one burst.
    by_part: dict[tuple[int, int], list[float]] = defaultdict(list)
    for (_, m, i), t in pub_map.items():
        if w0 <= t <= w1:
            by_part[(m, i)].append(t)
    spread = [max(ts) - min(ts) for ts in by_part.values() if len(ts) == n_rend]
    requests = sum(c["requests"] for c in raw["clients"])
    cpu_per_request = raw["server_cpu_s"] / requests if requests else math.nan
    pauses = [p for p in origin.gc_pauses if w0 <= p[0] <= w1]
    releases = [r for r in origin.releases if w0 <= r[0] <= w1 and r[1] > 0]
    return {
        "viewers": phase.count,
        "running_at_end": sum(c["running_at_end"] for c in raw["clients"]),
        "fully_served": fully,
        "blocked_median": statistics.median(blocked) if blocked else 0,
        "blocked_max": max(blocked) if blocked else 0,
        "requests_per_s": sum(c["requests"] for c in raw["clients"]) / wall,
        "mbit_per_s": 8 * sum(c["bytes"] for c in raw["clients"]) / wall / 1e6,
        "parts_per_s": float(sel.sum()) / wall,
        "deliveries": int(sel.sum()),
        "expected": expected,
        "parts_published": sum(parts_in_window),
        "unmatched": unmatched,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "late_requests_pct": 100 * float(late_req.mean()) if late_req.size else math.nan,
        "playlist_delay": {q: pct(d_pl, q) for q in (50, 95, 99)} | {"max": pct(d_pl, 100)},
        "part_delay": {q: pct(d_part, q) for q in (50, 95, 99)} | {"max": pct(d_part, 100)},
        "first_viewer_delay_p50": pct(first_delay, 50),
        "server_cpu_pct": 100 * raw["server_cpu_s"] / wall,
        "server_sys_pct": 100 * raw["server_sys_s"] / wall,
        "server_cpu_per_request_us": 1e6 * cpu_per_request,
        "burst_estimate_s": 2 * phase.count * cpu_per_request,
        "publish_spread_p50": pct(spread, 50),
        "per_rendition": per_rendition,
        "server_rss_mb": raw["server_rss"] / 2**20,
        "client_cpu_pct": 100 * client_cpu / wall,
        "others_cpu_pct": _others_pct(raw, wall),
        "db_queries_per_s": raw["db_transactions"] / wall,
        "client_lag_p99": pct(lags, 99),
        "client_lag_max": pct(lags, 100),
        "steal_pct": 100 * raw["steal_s"] / (wall * (os.cpu_count() or 1)),
        "parts_per_segment": parts_per_segment,
        "gc_pauses": len(pauses),
        "gc_full": sum(1 for p in pauses if p[1] == 2),
        "gc_pause_s": sum(p[2] for p in pauses),
        "gc_pause_max": max((p[2] for p in pauses), default=0.0),
        # The edge only: how long writing one part's held playlists (its release) took.
        "release_n": statistics.median(r[1] for r in releases) if releases else 0,
        "release_p50": pct([r[2] for r in releases], 50),
        "release_p99": pct([r[2] for r in releases], 99),
    }


def analyse_fetch(phase: Phase, raw: dict[str, Any], label: str) -> dict[str, Any]:
    import numpy as np

    wall = phase.seconds
    lat = np.concatenate(
        [np.frombuffer(c["latency"], dtype=np.float64) for c in raw["clients"]] or [np.zeros(0)]
    )
    errors: Counter[str] = Counter()
    for c in raw["clients"]:
        errors.update(c["errors"])
    lags = [x for c in raw["clients"] for x in c["lags"]]
    return {
        "server": label,
        "fetchers": phase.count,
        "requests_per_s": sum(c["requests"] for c in raw["clients"]) / wall,
        "mbyte_per_s": sum(c["bytes"] for c in raw["clients"]) / wall / 1e6,
        "latency": {q: pct(lat, q) for q in (50, 99)},
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "server_cpu_pct": 100 * raw["server_cpu_s"] / wall,
        "server_sys_pct": 100 * raw["server_sys_s"] / wall,
        "client_cpu_pct": 100 * sum(c["cpu_s"] for c in raw["clients"]) / wall,
        "others_cpu_pct": _others_pct(raw, wall),
        "client_lag_p99": pct(lags, 99),
    }


# =========================================================================== socket floor


def _floor_receiver(port: int, n: int, cpus: list[int] | None, ready: Any) -> None:
    """Opens ``n`` connections and drains them (the viewers' side of the floor measurement)."""
    import select

    raise_nofile()
    if cpus:
        os.sched_setaffinity(0, cpus)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    ep = select.epoll()
    by_fd = {}
    for sock in socks:
        sock.setblocking(False)
        ep.register(sock.fileno(), select.EPOLLIN)
        by_fd[sock.fileno()] = sock
    ready.set()
    buf = bytearray(1 << 18)
    while True:
        for fd, _ in ep.poll(1.0):
            try:
                if by_fd[fd].recv_into(buf) == 0:
                    return
            except BlockingIOError:
                pass


def _floor_sender(
    port: int, n: int, sizes: list[int], rounds: int, period: float, out: Connection
) -> None:
    """Writes a burst of each size to ``n`` connections per round; reports its CPU per round."""
    raise_nofile()
    listener = socket.create_server(("127.0.0.1", port), backlog=4096)
    out.send({"listening": True})
    conns = [listener.accept()[0] for _ in range(n)]
    out.recv()  # the receiver is draining
    blobs = [os.urandom(size) for size in sizes]
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    for k in range(rounds):
        for blob in blobs:  # the held playlists, then the parts
            for c in conns:
                c.sendall(blob)
        time.sleep(max(0.0, t0 + (k + 1) * period - time.monotonic()))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    out.send(
        {
            "user_s": (r1.ru_utime - r0.ru_utime) / rounds,
            "sys_s": (r1.ru_stime - r0.ru_stime) / rounds,
        }
    )
    for c in conns:
        c.close()


def socket_floor(
    n: int,
    sizes: list[int],
    origin_cpus: set[int] | None,
    client_cpus: set[int] | None,
    period: float,
    rounds: int = 12,
) -> dict[str, float]:
    """CPU one process spends writing one burst (``sizes`` bytes to each of ``n`` loopback
    sockets, blocking ``sendall``: no HTTP, no event loop, no Python per byte), pinned as the
    origin is: what the kernel alone costs the origin's core per part, before any server work."""
    ctx = mp.get_context("spawn")
    port = free_port()
    parent, child = ctx.Pipe()
    sender = ctx.Process(
        target=_floor_sender, args=(port, n, sizes, rounds, period, child), daemon=True
    )
    sender.start()
    if origin_cpus:
        os.sched_setaffinity(sender.pid, origin_cpus)
    ready = ctx.Event()
    receiver = ctx.Process(
        target=_floor_receiver,
        args=(port, n, sorted(client_cpus) if client_cpus else None, ready),
        daemon=True,
    )
    try:
        if not parent.poll(60):
            raise BenchError("the socket-floor sender did not start")
        parent.recv()
        receiver.start()
        if not ready.wait(120):
            raise BenchError("the socket-floor receiver did not connect")
        parent.send({"go": True})
        if not parent.poll(rounds * period + 120):
            raise BenchError("the socket-floor sender did not report")
        res = parent.recv()
    finally:
        for proc in (sender, receiver):
            if proc.is_alive():
                proc.kill()
            proc.join(10)
    burst = res["user_s"] + res["sys_s"]
    return {
        "viewers": n,
        "sizes": sizes,
        "burst_s": burst,
        "sys_share": res["sys_s"] / burst if burst else math.nan,
        "per_viewer_us": 1e6 * burst / n,
    }


# =========================================================================== nginx


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def ensure_nginx() -> str:
    """nginx's path; installs the Debian package when missing and running as root."""
    path = find_nginx()
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BenchError(
            "nginx is not installed (sudo apt-get install nginx-light), or pass --no-nginx"
        )
    print("nginx is missing: apt-get install nginx-light ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx-light"],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0 and cmd[1] == "install":
            # Older/newer Debian releases may only have the plain package.
            proc = subprocess.run(
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],
                capture_output=True,
                text=True,
                env=env,
            )
        if proc.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-1500:]}")
    path = find_nginx()
    if not path:
        raise BenchError("nginx still not found after apt-get install")
    return path


def nginx_version(nginx: str) -> str:
    out = subprocess.run([nginx, "-v"], capture_output=True, text=True)
    return (out.stderr or out.stdout).strip().split("/", 1)[-1]


def _nginx_modules(nginx: str) -> str:
    return subprocess.run([nginx, "-V"], capture_output=True, text=True).stderr


@contextlib.contextmanager
def run_nginx(nginx: str, prefix: Path, www: Path, port: int, cpus: set[int] | None, conns: int):
    """A private nginx (one worker) serving ``www`` on ``port``; stopped on exit."""
    modules = _nginx_modules(nginx)
    temp_paths = "\n".join(
        f"    {name}_temp_path {prefix}/{name}_temp;"
        for name, flag in (
            ("client_body", ""),
            ("proxy", "--without-http_proxy_module"),
            ("fastcgi", "--without-http_fastcgi_module"),
            ("uwsgi", "--without-http_uwsgi_module"),
            ("scgi", "--without-http_scgi_module"),
        )
        if not flag or flag not in modules
    )
    user = "user root;" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_rlimit_nofile {conns * 2 + 1024};
events {{ worker_connections {conns + 512}; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    types {{ video/iso.segment m4s; video/mp4 mp4; application/vnd.apple.mpegurl m3u8; }}
    default_type application/octet-stream;
{temp_paths}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        root {www};
        location / {{
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header Access-Control-Allow-Origin "*";
        }}
    }}
}}
"""
    )
    log = (prefix / "stderr.log").open("w")
    proc = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        stdout=log,
        stderr=log,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    log.close()
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise BenchError(
                    "nginx exited: "
                    + (prefix / "stderr.log").read_text()[-2000:]
                    + (prefix / "error.log").read_text()[-2000:]
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise BenchError("nginx did not start listening")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful: the worker exits, then the master
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def nginx_worker_pid(master: int) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        kids = psutil.Process(master).children()
        if kids:
            return kids[0].pid
        time.sleep(0.05)
    raise BenchError("nginx has no worker process")


# =========================================================================== profiling


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(spy, os.X_OK):
        print("py-spy not found: no profile", flush=True)
        return None
    cmd = [
        spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
        "--rate", "100", "--format", "raw", "--output", str(out), "--nonblocking", "--idle",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def _idle(leaf: str) -> bool:
    """The event loop waiting in epoll/select (py-spy names it e.g. 'EpollSelector.select').

    uvloop's loop is C: py-spy shows its epoll wait, and its socket reads, as ``Runner.run``
    with no Python frame below. Those samples are left out too (mostly idle; the reads' cost
    is in the origin's sys% instead), so with uvloop the shares are of the Python callbacks.
    """
    fn, _, file = leaf.partition(" (")
    if fn == "Runner.run" and file.startswith("asyncio/runners.py"):
        return True
    return file.startswith("selectors.py") and fn.rsplit(".", 1)[-1] in ("select", "poll")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = m["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m['fn']} ({file})"


def summarize_profile(path: Path, top: int) -> dict[str, Any]:
    """Self and inclusive shares of the event-loop thread's busy samples (py-spy raw format)."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = busy = 0
    threads: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [_frame_name(f) for f in stack.split(";")]
        total += count
        root = frames[0]
        main = root.startswith("<module>") or "run_forever" in stack or "_run_once" in stack
        threads["event loop" if main else root] += count
        if not main:
            continue
        if _idle(frames[-1]):
            continue
        busy += count
        own[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    return {
        "samples": total,
        "busy_samples": busy,
        "threads": dict(threads),
        "self": own.most_common(top),
        "inclusive": incl.most_common(top * 2),
    }


def print_profile(prof: dict[str, Any], seconds: float, label: str) -> None:
    busy = prof["busy_samples"] or 1
    print(
        f"\norigin profile, viewers on the {label} (py-spy, 100 Hz, {seconds:.0f} s of the "
        "largest run; event-loop "
        f"thread busy in {prof['busy_samples']} of its samples):"
    )
    print("  by own time (% of busy event-loop samples):")
    for name, n in prof["self"]:
        print(f"    {100 * n / busy:5.1f}%  {name}")
    print("  inclusive (% of busy event-loop samples):")
    for name, n in prof["inclusive"]:
        print(f"    {100 * n / busy:5.1f}%  {name}")


# =========================================================================== report


def machine_info() -> dict[str, Any]:
    from loadtests import bench_transcode as bt

    return bt.machine_info() | {"aiohttp": aiohttp.__version__}


def print_viewer_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'server':<6} {'viewers':>7} {'running':>7} {'full':>6} {'held':>6} {'req/s':>7} "
        f"{'parts/s':>7} "
        f"{'Mb/s':>6} {'errors':>6} {'pl p50':>7} {'p95':>6} {'p99':>6} {'part p50':>8} "
        f"{'p95':>6} {'p99':>6} {'max':>6} {'origin%':>7} {'sys%':>5} {'client%':>7} {'other%':>6} "
        f"{'c.lag99':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        pl, pt = r["playlist_delay"], r["part_delay"]
        print(
            f"{r['server']:<6} {r['viewers']:>7} {r['running_at_end']:>7} {r['fully_served']:>6} "
            f"{r['blocked_median']:>6.0f} {r['requests_per_s']:>7.0f} {r['parts_per_s']:>7.0f} "
            f"{r['mbit_per_s']:>6.0f} {r['error_count']:>6} {ms(pl[50]):>7} {ms(pl[95]):>6} "
            f"{ms(pl[99]):>6} {ms(pt[50]):>8} {ms(pt[95]):>6} {ms(pt[99]):>6} {ms(pt['max']):>6} "
            f"{r['server_cpu_pct']:>7.0f} {r['server_sys_pct']:>5.0f} {r['client_cpu_pct']:>7.0f} "
            f"{r['others_cpu_pct']:>6.0f} {ms(r['client_lag_p99']):>7}"
        )


def report(
    args: argparse.Namespace,
    machine: dict[str, Any],
    setup: dict[str, Any],
    rows: list[dict[str, Any]],
    fetch: list[dict[str, Any]],
    fetch_info: dict[str, Any],
    profs: dict[str, dict[str, Any]],
    floors: list[dict[str, Any]],
) -> dict[str, Any]:
    print()
    print(
        "TeezU Live origin benchmark: LL-HLS viewers (blocking playlist reload + parts) on one "
        "origin process"
    )
    print(
        f"machine: {machine['cpu']} ({machine['mhz']} MHz, {machine['simd']}), "
        f"{machine['logical_cpus']} logical CPUs ({machine['usable_cpus']} usable, cgroup quota "
        f"{machine['cgroup_cpu_quota']}), Linux {machine['kernel']}, load avg at start "
        f"{machine['loadavg_start']}"
    )
    print(
        f"software: Python {machine['python']}, aiohttp {machine['aiohttp']}, "
        f"nginx {setup.get('nginx_version', 'not run')}; RLIMIT_NOFILE {setup['nofile']}; "
        f"origin event loop: {args.loop}; stream: "
        f"{'followers-only, every request with a playback token' if args.token else 'public'}"
    )
    print(
        f"placement: origin pid {setup['origin_pid']} on CPUs {setup['origin_cpus']}; "
        f"{setup['clients']} load-generator process(es) ({args.client} client) on CPUs "
        f"{setup['client_cpus']}"
        + ("" if args.pin else " (not pinned: all share every CPU)")
        + (
            "; loopback receive processing on the load generators' CPUs (--rps)"
            if setup.get("rps")
            else "; loopback receive processing on the sender's CPU (Linux default)"
        )
    )
    print(
        f"stream: replay of the default ladder {'/'.join(setup['renditions'])} + AAC through a "
        f"real HlsOutput, parts {setup['part_duration']:.3f} s ({setup['parts_per_segment']} per "
        f"{setup['segment_duration']:g} s segment); viewers round-robin over the renditions"
    )
    print(
        f"each run: viewers start over a ramp of {setup['ramp_desc']}, {args.warmup:g} s warm-up, "
        f"then {args.seconds:g} s measured"
    )
    print(
        f"origin CPU with no viewer (publishing only: replay, packaging, storage writes): "
        f"{setup['baseline_origin_cpu_pct']:.1f}% of a core (other processes meanwhile: "
        f"{setup['baseline_others_cpu_pct']:.0f}%)"
    )
    print(
        "delivery delay = arrival at the viewer - the origin's publish time of the part "
        "(LiveBroadcast.published_at,\n  read inside the origin process; CLOCK_MONOTONIC is "
        "shared by all processes on the host). 'pl' = the blocking playlist response\n  naming "
        "the part fully received; 'part' = the part's bytes fully received (the target's figure)."
    )
    print()
    print_viewer_table(rows)
    print(
        "\n  running = viewer loops alive at the end; full = viewers that got every part published "
        "in the window;\n  held = blocking playlist requests outstanding (median of 0.25 s "
        "samples); req/s = playlist + part responses;\n  origin%/client% = CPU of the origin "
        "process / all load generators (100% = one core; sys% = the origin's kernel share);"
        "\n  other% = every other process on the machine (noise, not ours); c.lag99 = p99 of how "
        "late the load\n  generators' own timers fired (their event-loop lag, included in the "
        "delays). Delays in ms."
    )
    for r in rows:
        notes = []
        if r["errors"]:
            notes.append("errors: " + ", ".join(f"{k} x{v}" for k, v in r["errors"].items()))
        if r["unmatched"]:
            notes.append(f"{r['unmatched']} deliveries with no publish time")
        notes.append(
            f"delivered {r['deliveries']} of {r['expected']} part deliveries due "
            f"({100 * r['deliveries'] / max(1, r['expected']):.1f}%); "
            f"{r['late_requests_pct']:.1f}% of blocking requests were sent after their part was "
            f"already out (viewer behind); first viewer's playlist p50 "
            f"{ms(r['first_viewer_delay_p50'])} ms; origin RSS {r['server_rss_mb']:.0f} MiB; "
            f"database transactions {r['db_queries_per_s']:.1f}/s; origin CPU per request "
            f"{r['server_cpu_per_request_us']:.0f} µs, so one part's burst (2 requests x "
            f"{r['viewers']} viewers) takes ~{ms(r['burst_estimate_s'])} ms of origin CPU; "
            "the renditions publish a part within "
            f"{ms(r['publish_spread_p50'])} ms of each other (p50); part p50/p99 (first "
            "viewer's playlist p50) by rendition: "
            + ", ".join(
                f"{k} {ms(v['part_p50'])}/{ms(v['part_p99'])} ({ms(v['first_playlist_p50'])})"
                for k, v in r["per_rendition"].items()
            )
            + "; "
            + (
                f"the edge wrote one part's held playlists ({r['release_n']:.0f} per release, "
                f"median) in {ms(r['release_p50'])} ms p50, {ms(r['release_p99'])} ms p99; "
                if r["server"] == "edge" and r["release_n"]
                else ""
            )
            + f"origin GC: {r['gc_pauses']} pauses ({r['gc_full']} full), "
            f"{ms(r['gc_pause_s'])} ms in all, longest {ms(r['gc_pause_max'])} ms; "
            f"steal {r['steal_pct']:.1f}%"
        )
        print(f"  {r['viewers']} viewers ({r['server']}): " + "; ".join(notes))
    by_server: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_server[r["server"]].append(r)
    for server, mine in by_server.items():
        measured = [r for r in mine if r["requests_per_s"] > 0]
        unsaturated = [r for r in measured if r["server_cpu_pct"] < 90]
        basis = unsaturated or measured
        which = "the runs below 90% CPU" if unsaturated else "all runs, every one saturated"
        if basis:
            per_req = statistics.median(r["server_cpu_per_request_us"] for r in basis)
            spread = statistics.median(r["publish_spread_p50"] for r in basis)
            print(
                f"\n{SERVERS[server]}: every viewer waits on the same part and the renditions "
                f"publish it within {ms(spread)} ms\n  of each other (p50), so each part "
                "releases one burst of 2 requests per viewer (playlist + part) on one event loop. "
                f"At the\n  measured {per_req:.0f} µs of origin CPU per request (median of "
                f"{which}), a burst takes 2 x viewers x that:\n  "
                + ", ".join(f"{n} viewers ~{2 * n * per_req / 1000:.0f} ms" for n in args.viewers)
                + f". p99 <= 100 ms for 5000 viewers needs <= {0.1 / (2 * 5000) * 1e6:.0f} µs "
                "per request (or the burst spread over more cores)."
            )
    if floors:
        sizes = floors[0]["sizes"]
        print(
            "\nsocket floor: one plain process pinned like the origin writes each viewer's two "
            f"responses per part ({sizes[0]} B playlist, {sizes[1]} B part,\n  the broadcast's "
            "averages with headers) to N loopback sockets drained on the load generators' "
            "CPUs: blocking sendall, no HTTP,\n  no event loop, no request to read. What the "
            "kernel alone costs the origin's core per part, before any server work:\n  "
            + ", ".join(
                f"{f['viewers']} viewers {ms(f['burst_s'])} ms ({f['per_viewer_us']:.0f} µs per "
                f"viewer, {100 * f['sys_share']:.0f}% kernel)"
                for f in floors
            )
        )
    verdicts: dict[str, int] = {}
    for server, mine in by_server.items():
        ok = [
            r
            for r in mine
            if r["part_delay"][99] <= 0.100
            and r["fully_served"] == r["viewers"]
            and not r["errors"]
        ]
        verdicts[server] = max((r["viewers"] for r in ok), default=0)
    best = max(verdicts.values(), default=0)
    met = best >= 5000
    print(
        "\ntarget: >= 5000 concurrent held viewers with part delivery delay p99 <= 100 ms: "
        f"{'met' if met else 'NOT met'}; largest run meeting p99 <= 100 ms with every viewer "
        "fully served and no errors: "
        + ", ".join(f"{SERVERS[k]} {v or 'none'}" for k, v in verdicts.items())
    )
    noisy = [f"{r['server']} {r['viewers']}" for r in rows if r["others_cpu_pct"] > NOISY_PCT] + [
        f["server"].split()[0] for f in fetch if f["others_cpu_pct"] > NOISY_PCT
    ]
    if noisy:
        print(
            f"  WARNING: other processes on this machine used more than {NOISY_PCT}% of a core "
            f"during {noisy} (column other%):\n  our pinned processes got only part of their "
            "CPU, so those figures are not the origin's; run again on a quiet machine."
        )
    saturated = [f"{r['server']} {r['viewers']}" for r in rows if r["client_lag_p99"] > 0.05]
    if saturated:
        print(
            f"  NOTE: the load generators lagged (p99 timer lag > 50 ms) at {saturated} viewers: "
            "those delays include their own lag,\n  so they are an upper bound for the origin's "
            "part (compare origin% with 100%)."
        )
    out: dict[str, Any] = {
        "target_met": met,
        "max_viewers_meeting_target": best,
        "max_viewers_meeting_target_by_server": verdicts,
        "viewers": rows,
        "socket_floor": floors,
        "setup": setup,
        "machine": machine,
    }
    if fetch:
        print()
        print(
            f"plain segment fetches (no blocking): {fetch_info['fetchers']} concurrent "
            f"fetchers, each looping over {len(fetch_info['files'])} stored segments "
            f"({', '.join(fetch_info['files'])}), {fetch_info['seconds']:g} s measured; "
            "origin first, then nginx"
        )
        header = (
            f"{'server':<28}{'req/s':>8}{'MB/s':>8}{'lat p50':>9}{'p99':>7}{'errors':>8}"
            f"{'server%':>9}{'sys%':>6}{'µs/req':>8}{'client%':>9}{'other%':>8}{'c.lag99':>9}"
        )
        print(header)
        print("-" * len(header))
        for f in fetch:
            print(
                f"{f['server']:<28}{f['requests_per_s']:>8.0f}{f['mbyte_per_s']:>8.0f}"
                f"{ms(f['latency'][50]):>9}{ms(f['latency'][99]):>7}{f['error_count']:>8}"
                f"{f['server_cpu_pct']:>9.0f}{f['server_sys_pct']:>6.0f}"
                f"{1e4 * _per_req_cpu(f):>8.0f}"
                f"{f['client_cpu_pct']:>9.0f}"
                f"{f['others_cpu_pct']:>8.0f}{ms(f['client_lag_p99']):>9}"
            )
        for f in fetch:
            if f["errors"]:
                print(
                    f"  {f['server']} errors: "
                    + ", ".join(f"{k} x{v}" for k, v in f["errors"].items())
                )
        by = {f["server"].split()[0]: f for f in fetch}
        if "origin" in by and "nginx" in by:
            ratio = by["origin"]["requests_per_s"] / max(1e-9, by["nginx"]["requests_per_s"])
            cpu_ratio = _per_req_cpu(by["origin"]) / max(1e-12, _per_req_cpu(by["nginx"]))
            print(f"\nratio origin/nginx (segment requests/s): {ratio:.3f}")
            print(f"server CPU per request, origin/nginx: {cpu_ratio:.1f}x")
            out["fetch_ratio_origin_nginx"] = ratio
            out["fetch_cpu_per_request_origin_nginx"] = cpu_ratio
            nginx_cpu = by["nginx"]["server_cpu_pct"]
            if nginx_cpu < 90:
                print(
                    f"  NOTE: nginx used {nginx_cpu:.0f}% of its core: the load generators, not "
                    "nginx, set its request rate, so the ratio of\n  requests/s understates "
                    "nginx; the CPU per request compares the two servers' work directly."
                )
        if "minimal" in by:
            m = _per_req_cpu(by["minimal"])
            parts = []
            if "origin" in by:
                parts.append(f"origin/minimal aiohttp {_per_req_cpu(by['origin']) / m:.2f}x")
                out["fetch_cpu_per_request_origin_minimal"] = _per_req_cpu(by["origin"]) / m
            if "nginx" in by:
                parts.append(
                    f"minimal aiohttp/nginx {m / max(1e-12, _per_req_cpu(by['nginx'])):.1f}x"
                )
            print(
                "server CPU per request, "
                + ", ".join(parts)
                + "\n  (the minimal app: aiohttp with one route and FileResponse, no middleware, "
                "database or policy check:\n  what aiohttp itself costs for this request, "
                "the floor for any aiohttp origin)"
            )
        print(
            "\n".join(
                [
                    "  comparable: the same files (copies of what the origin stored), the same "
                    "URLs, the same client code,",
                    "  concurrency and duration, one server process on the same pinned CPU "
                    "(nginx: 1 worker), keep-alive, sendfile",
                    "  on both sides, the same Cache-Control and CORS headers.",
                    "  not comparable: the origin also runs its middleware (request id, error "
                    "envelope), routing, the playback",
                    "  policy check and a thread hop (is_file) per request; nginx does no LL-HLS "
                    "(no blocking, no parts from",
                    "  memory), so this compares the plain stored-file path only, not the "
                    "viewers' workload above.",
                ]
            )
        )
        out["fetch"] = fetch
        out["fetch_info"] = fetch_info
    for server, prof in profs.items():
        print_profile(prof, args.seconds, SERVERS[server])
    if profs:
        out["profile"] = profs
    return out


def _per_req_cpu(f: dict[str, Any]) -> float:
    return f["server_cpu_pct"] / max(1e-9, f["requests_per_s"])


# =========================================================================== main


def parse_viewers(raw: str) -> list[int]:
    try:
        values = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of integers") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("positive viewer counts")
    return values


RPS_PATH = Path("/sys/class/net/lo/queues/rx-0/rps_cpus")


@contextlib.contextmanager
def loopback_rps(cpus: set[int] | None) -> Any:
    """Steer loopback receive processing to ``cpus`` (RPS) for the duration, then restore it.

    On loopback the sender's CPU also runs the receiver's TCP receive path (softirq), so the
    origin's core pays for the viewers' kernel work, which in production runs on their devices.
    A machine-wide setting (root only): opt-in (``--rps``), and put back as it was.
    """
    if not cpus:
        yield None
        return
    before = RPS_PATH.read_text().strip()
    RPS_PATH.write_text(format(sum(1 << c for c in cpus), "x"))
    try:
        yield RPS_PATH.read_text().strip()
    finally:
        RPS_PATH.write_text(before)


def cpu_split(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(origin CPUs, load-generator CPUs): the first usable CPU for the origin when pinning."""
    usable = sorted(os.sched_getaffinity(0))
    if not pin or len(usable) < 2:
        return None, None
    return {usable[0]}, set(usable[1:])


def run(args: argparse.Namespace) -> int:
    from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

    nofile = raise_nofile()
    need = max(args.viewers + [args.fetch_viewers]) + 512
    if nofile < need:
        print(
            f"WARNING: RLIMIT_NOFILE {nofile} < {need}: the largest runs may fail to connect",
            flush=True,
        )
    nginx = None if args.no_nginx else ensure_nginx()
    machine = machine_info()
    packets = ensure_packets(args.cache_dir)
    origin_cpus, client_cpus = cpu_split(args.pin)
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)
    clients = args.clients or max(1, len(client_cpus or os.sched_getaffinity(0)))
    rows: list[dict[str, Any]] = []
    fetch: list[dict[str, Any]] = []
    fetch_info: dict[str, Any] = {}
    profs: dict[str, dict[str, Any]] = {}
    floors: list[dict[str, Any]] = []
    setup: dict[str, Any] = {"nofile": nofile, "clients": clients, "rps": args.rps}
    with tempfile.TemporaryDirectory(prefix="bench-origin-") as tmp_s:
        tmp = Path(tmp_s)
        pg = EmbeddedPostgres(default_data_dir(tmp / "pgvar"))
        dsn = pg.start()
        origin: Origin | None = None
        try:
            origin = start_origin(
                dsn, tmp / "var", packets, origin_cpus, tmp / "origin.log", args.loop, args.token
            )
            info = origin.info
            setup.update(
                origin_pid=origin.pid,
                origin_cpus=sorted(os.sched_getaffinity(origin.pid)),
                client_cpus=sorted(client_cpus or os.sched_getaffinity(0)),
                renditions=origin.renditions,
                part_duration=info["part_duration"],
                segment_duration=info["segment_duration"],
                parts_per_segment=info["parts_per_segment"],
            )
            # What publishing alone costs the origin (replay + packaging + storage writes).
            proc = psutil.Process(origin.pid)
            c0, b0, t0 = sum(proc.cpu_times()[:2]), _busy(), time.monotonic()
            time.sleep(args.baseline)
            c1, b1, t1 = sum(proc.cpu_times()[:2]), _busy(), time.monotonic()
            setup["baseline_origin_cpu_pct"] = 100 * (c1 - c0) / (t1 - t0)
            setup["baseline_others_cpu_pct"] = 100 * max(0.0, (b1 - b0) - (c1 - c0)) / (t1 - t0)
            base = {
                "host": "127.0.0.1",
                "port": origin.port,
                "client": args.client,
                "renditions": origin.renditions,
                "playlists": {r: origin.url(r, "index.m3u8") for r in origin.renditions},
                "query": f"token={info['token']}" if info.get("token") else "",
            }
            ramps = []
            servers = ["edge", "app"] if args.server == "both" else [args.server]
            for server in servers:
                port = origin.port if server == "app" else origin.info["edge_port"]
                if not port:
                    raise BenchError("the origin process runs no edge")
                for n in args.viewers:
                    ramp = args.ramp if args.ramp is not None else max(2.0, n / 1000)
                    ramps.append(ramp)
                    phase = Phase("viewers", n, args.seconds, ramp, args.warmup, grace=1.0)
                    profile_this = args.profile and n == max(args.viewers)
                    prof_path = tmp / f"profile-{server}.txt"

                    def during(
                        seconds: float, _p: bool = profile_this, _path: Path = prof_path
                    ) -> Any:
                        return start_profile(origin.pid, seconds, _path) if _p else None

                    if args.quiet_wait:
                        wait_for_quiet(args.quiet_wait, [origin.pid, os.getpid()])
                    print(f"running {n} viewers against the {SERVERS[server]} ...", flush=True)
                    raw = run_clients(
                        phase,
                        dict(base, port=port),
                        clients,
                        client_cpus,
                        origin.pid,
                        during,
                        lambda: db_transactions(dsn),
                    )
                    spy = raw.get("extra")
                    if spy is not None:
                        spy.wait(60)
                        if spy.returncode == 0 and prof_path.exists():
                            profs[server] = summarize_profile(prof_path, args.profile_top)
                            shutil.copy(prof_path, args.cache_dir / f"origin-profile-{server}.txt")
                        else:
                            err = spy.stderr.read().decode() if spy.stderr else ""
                            print(f"py-spy failed: {err.strip()[-500:]}", flush=True)
                    origin.collect_published()
                    row = analyse_viewers(phase, raw, origin, info["parts_per_segment"])
                    row["server"] = server
                    rows.append(row)
                    print(
                        f"  {n} viewers ({server}): part delay p99 {ms(row['part_delay'][99])} ms, "
                        f"{row['fully_served']} fully served, {row['error_count']} errors, "
                        f"origin CPU {row['server_cpu_pct']:.0f}%, "
                        f"clients {row['client_cpu_pct']:.0f}%, "
                        f"others {row['others_cpu_pct']:.0f}%",
                        flush=True,
                    )
                    time.sleep(args.settle)
            setup["ramp_desc"] = (
                f"{ramps[0]:g} s" if len(set(ramps)) == 1 else "max(2 s, viewers/1000 s)"
            )
            if args.floor:
                sizes = origin.call("sizes")
                head = 200  # status line and headers, as the edge sends them
                floor_sizes = [int(sizes["playlist"]) + head, int(sizes["part"]) + head]
                for n in args.viewers:
                    if args.quiet_wait:
                        wait_for_quiet(args.quiet_wait, [origin.pid, os.getpid()])
                    print(f"socket floor for {n} viewers ...", flush=True)
                    floors.append(
                        socket_floor(
                            n, floor_sizes, origin_cpus, client_cpus, info["part_duration"]
                        )
                    )
            if args.fetch_seconds > 0:
                ended = origin.call("end", timeout=60)
                fetch_info = pick_segments(origin, ended["segments"], args.fetch_files)
                fetch_info.update(seconds=args.fetch_seconds, fetchers=args.fetch_viewers)
                fbase = dict(base, fetch_paths=fetch_info["paths"])
                fphase = Phase(
                    "fetch", args.fetch_viewers, args.fetch_seconds,
                    ramp=min(2.0, args.fetch_viewers / 1000), warmup=args.warmup, grace=0.0,
                )  # fmt: skip
                if args.quiet_wait:
                    wait_for_quiet(args.quiet_wait, [origin.pid, os.getpid()])
                print(f"segment fetches against the origin ({args.fetch_viewers}) ...", flush=True)
                raw = run_clients(fphase, fbase, clients, client_cpus, origin.pid)
                fetch.append(analyse_fetch(fphase, raw, "origin (aiohttp app)"))
                www = tmp / "www"
                for rel in fetch_info["paths"]:
                    src = Path(info["media_dir"]) / rel.removeprefix("/hls/")
                    dst = www / rel.lstrip("/")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
                origin.stop()
                origin = None
                if not args.no_minimal:
                    mini = start_minimal(www, origin_cpus, tmp / "minimal.log")
                    try:
                        if args.quiet_wait:
                            wait_for_quiet(args.quiet_wait, [mini.pid, os.getpid()])
                        print(
                            f"segment fetches against a minimal aiohttp app ({args.fetch_viewers})"
                            " ...",
                            flush=True,
                        )
                        raw = run_clients(
                            fphase, dict(fbase, port=mini.port), clients, client_cpus, mini.pid
                        )
                    finally:
                        mini.stop()
                    fetch.append(analyse_fetch(fphase, raw, "minimal aiohttp app"))
                if nginx:
                    setup["nginx_version"] = nginx_version(nginx)
                    for d in [tmp, *[p for p in www.rglob("*") if p.is_dir()], www]:
                        d.chmod(0o755)  # nginx's worker may run as another user
                    prefix = tmp / "nginx"
                    prefix.mkdir()
                    nport = free_port()
                    with run_nginx(
                        nginx, prefix, www, nport, origin_cpus, args.fetch_viewers
                    ) as master:
                        worker = nginx_worker_pid(master.pid)
                        if args.quiet_wait:
                            wait_for_quiet(args.quiet_wait, [master.pid, worker, os.getpid()])
                        print(
                            f"segment fetches against nginx ({args.fetch_viewers}) ...", flush=True
                        )
                        raw = run_clients(
                            fphase, dict(fbase, port=nport), clients, client_cpus, worker
                        )
                    fetch.append(analyse_fetch(fphase, raw, "nginx (1 worker)"))
        finally:
            if origin is not None:
                origin.stop()
            pg.stop()
    setup.setdefault("ramp_desc", "n/a")
    summary = report(args, machine, setup, rows, fetch, fetch_info, profs, floors)
    write_report(args.json, summary)
    return 0


def pick_segments(origin: Origin, segments: dict[str, list[int]], per_rendition: int) -> dict:
    """A few whole stored segments per rendition (not the first or the last, which may be short)."""
    paths, files = [], []
    media = Path(origin.info["media_dir"])
    for name in origin.renditions:
        seqs = segments.get(name, [])
        middle = seqs[1:-1] or seqs
        if not middle:
            raise BenchError(f"the origin stored no segment for {name}")
        for seq in middle[-per_rendition:]:
            rel = origin.url(name, f"seg{seq}.m4s")
            paths.append(rel)
            size = (media / rel.removeprefix("/hls/")).stat().st_size
            files.append(f"{name} {size // 1000} kB")
    return {"paths": paths, "files": files}


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["_minimal"]:
        ap = argparse.ArgumentParser(prog="bench_origin.py _minimal")
        ap.add_argument("_minimal")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--root", required=True)
        ap.add_argument("--backlog", type=int, default=4096)
        raise_nofile()
        asyncio.run(minimal_main(ap.parse_args(argv)))
        return 0
    if argv[:1] == ["_origin"]:
        ap = argparse.ArgumentParser(prog="bench_origin.py _origin")
        ap.add_argument("_origin")
        ap.add_argument("--dsn", required=True)
        ap.add_argument("--var-dir", required=True)
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--packets", required=True)
        ap.add_argument("--backlog", type=int, default=4096)
        ap.add_argument("--edge-port", type=int, default=0)
        ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="uvloop")
        ap.add_argument("--token", action="store_true")
        oargs = ap.parse_args(argv)
        raise_nofile()
        if oargs.loop == "uvloop":
            import uvloop

            uvloop.run(origin_main(oargs))
        else:
            asyncio.run(origin_main(oargs))
        return 0

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--viewers", type=parse_viewers, default=[1000, 2500, 5000],
        help="comma-separated viewer counts, one run each (default 1000,2500,5000)",
    )  # fmt: skip
    ap.add_argument("--seconds", type=float, default=30, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=3, help="seconds after the ramp, not measured")
    ap.add_argument(
        "--ramp", type=float, default=None,
        help="seconds over which viewers start (default max(2, viewers/1000))",
    )  # fmt: skip
    ap.add_argument("--settle", type=float, default=2, help="pause between runs")
    ap.add_argument(
        "--baseline", type=float, default=5, help="seconds of origin CPU with no viewer first"
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        help="before each run, wait up to this many seconds for other processes on the machine "
        f"to use < {NOISY_PCT}%% of a core (default 0: do not wait)",
    )
    ap.add_argument(
        "--clients", type=int, default=0,
        help="load-generator processes (default: one per CPU not given to the origin)",
    )  # fmt: skip
    ap.add_argument(
        "--client", choices=("aiohttp", "raw", "lean"), default="aiohttp",
        help="viewers' HTTP client: aiohttp (default); raw, a minimal keep-alive HTTP/1.1 "
        "client on asyncio streams that costs several times less CPU per request; or lean, the "
        "raw client's viewer loop as protocol callbacks on uvloop (no task or future per "
        "request, part bytes counted not kept), the lightest (its fetches use raw)",
    )  # fmt: skip
    ap.add_argument(
        "--pin", action=argparse.BooleanOptionalAction, default=True,
        help="origin (and nginx) on the first CPU, load generators on the others (default on)",
    )  # fmt: skip
    ap.add_argument(
        "--fetch-seconds", type=float, default=None,
        help="measured seconds of the segment-fetch comparison (default --seconds; 0 skips it)",
    )  # fmt: skip
    ap.add_argument(
        "--fetch-viewers", type=int, default=None,
        help="concurrent segment fetchers (default: the smallest --viewers)",
    )  # fmt: skip
    ap.add_argument("--fetch-files", type=int, default=2, help="stored segments per rendition")
    ap.add_argument("--no-nginx", action="store_true", help="skip the nginx reference")
    ap.add_argument(
        "--rps", action="store_true",
        help="steer loopback receive processing to the load generators' CPUs during the run "
        "(/sys/class/net/lo/queues/rx-0/rps_cpus, root; restored afterwards): the viewers' TCP "
        "receive work then runs on their CPUs, as it would on their devices, not the origin's",
    )  # fmt: skip
    ap.add_argument(
        "--floor", action=argparse.BooleanOptionalAction, default=True,
        help="measure the socket floor: the CPU a plain process needs to write the viewers' "
        "bytes to as many loopback sockets (default on)",
    )  # fmt: skip
    ap.add_argument(
        "--no-minimal",
        action="store_true",
        help="skip the minimal aiohttp app (FileResponse only) in the segment-fetch comparison",
    )
    ap.add_argument(
        "--server", choices=("both", "edge", "app"), default="both",
        help="which server the viewers use: the LL-HLS edge, the aiohttp app's /hls/ route, or "
        "both, one after the other (default both)",
    )  # fmt: skip
    ap.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="uvloop",
        help="the origin process's event loop (default uvloop, as `teezu serve`)",
    )  # fmt: skip
    ap.add_argument(
        "--token", action="store_true",
        help="a followers-only stream: every viewer request carries a signed playback token "
        "(the token check, then the playlists tokenized per token; default: a public stream, "
        "whose parts take the edge's fast path without any check)",
    )  # fmt: skip
    ap.add_argument(
        "--profile", action="store_true", help="py-spy the origin in the largest run of each server"
    )
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument(
        "--cache-dir", type=Path, default=ROOT / "var" / "bench", help="clip and packets cache"
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.seconds <= 0:
        ap.error("--seconds must be positive")
    if args.fetch_seconds is None:
        args.fetch_seconds = args.seconds
    if args.fetch_viewers is None:
        args.fetch_viewers = min(args.viewers)
    try:
        if args.rps:
            _, client_cpus = cpu_split(True)
            with loopback_rps(client_cpus) as mask:
                print(f"loopback receive processing steered to CPU mask {mask} (RPS)", flush=True)
                return run(args)
        return run(args)
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
