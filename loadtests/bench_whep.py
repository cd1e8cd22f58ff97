#!/usr/bin/env python3
"""CPU cost of WHEP viewers on the server, against the cost of one more x264 encode.

What runs, each in its own process so only the server's own work is counted:

* **server**: ``teezu serve`` (the real application: WHIP, engine ladder, HLS, WHEP) on a free
  port, with an embedded PostgreSQL started by this script.
* **publisher**: ``tests.publisher.publish`` (aiortc, 1280x720@30 moving pattern + tone over
  WHIP), so the server runs the full default ladder (720p, 480p, 240p + AAC + the shared Opus).
* **viewers**: ``--viewers`` aiortc WHEP viewers (``tests.viewer.watch``, recvonly video +
  audio) of ``--rendition``. They do not decode by default (a counting stub replaces aiortc's
  decoders in that process), so that 10 decoders do not compete with the server for the 2 CPUs;
  ``--decode`` decodes for real.

The server's CPU (``psutil``: user + system of all its threads) is measured over ``--seconds``
windows: 0 viewers, ``--viewers`` viewers, then 0 viewers again; the baseline is the mean of the
two 0-viewer windows. CPU seconds per media second = CPU seconds / wall seconds (the stream is
real time). For comparison, the script then encodes ``--encode-seconds`` of the same 720p pattern
in-process with the top rung's ``VideoEncoder`` (the same x264 options) and reports its CPU per
media second: the cost of **one extra 720p encode**, i.e. what a viewer would cost if egress
re-encoded. It also measures the shared Opus encode against AAC on the same PCM.

The exit status is non-zero only on errors (a process failing, viewers receiving nothing),
never because of a figure.

    .venv/bin/python loadtests/bench_whep.py                     # 10 viewers, 20 s windows
    .venv/bin/python loadtests/bench_whep.py --seconds 4 --viewers 2 --encode-seconds 2  # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import av  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402

from loadtests.common import free_port, write_report  # noqa: E402

PROTO = "@@bench "


class BenchError(Exception):
    pass


def emit(**event: Any) -> None:
    print(PROTO + json.dumps(event), flush=True)


# ================================================================== child: the publisher


async def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines of stdin on a queue (None at EOF), read by a thread."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(q.put_nowait, line.strip())
        loop.call_soon_threadsafe(q.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    return q


def _looping_pattern_track() -> type:
    """``tests.publisher.PatternVideoTrack`` that encodes its first 2 s once, then loops them.

    The same picture content and H.264 as the test publisher, at a fraction of its CPU (no
    pattern drawing, no x264 after the first 2 s), so the publisher leaves the CPUs to the
    server. The loop starts on a keyframe (x264 keyint 30: packets 0 and 30 are IDR).
    """
    import tests.publisher as publisher

    class LoopingPatternTrack(publisher.PatternVideoTrack):
        loop_frames = 60

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._cache: list[bytes] = []

        def _next_packet(self, size: tuple[int, int], n: int) -> av.Packet:
            if len(self._cache) < self.loop_frames:
                packet = super()._next_packet(size, n)
                self._cache.append(bytes(packet))
                return packet
            packet = av.Packet(self._cache[(n - 1) % self.loop_frames])
            packet.pts = packet.dts = n
            packet.time_base = Fraction(1, self.fps)
            return packet

    return LoopingPatternTrack


async def publisher_main(base: str, stream_id: str, token: str) -> int:
    import tests.publisher
    from tests.publisher import publish

    tests.publisher.PatternVideoTrack = _looping_pattern_track()  # type: ignore[misc]
    commands = await _stdin_lines()
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, base, stream_id, token)
        emit(event="published")
        while (await commands.get()) is not None:
            pass
        await pub.delete(http, base)
    return 0


# ==================================================================== child: the viewers


class CountingDecoder:
    """Stands in for aiortc's decoders in the viewer process: counts frames, decodes nothing."""

    instances: list[CountingDecoder] = []

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.frames = 0
        CountingDecoder.instances.append(self)

    def decode(self, encoded_frame: Any) -> list[Any]:
        self.frames += 1
        return []


def _install_counting_decoders() -> None:
    import aiortc.rtcrtpreceiver as receiver

    def get_decoder(codec: Any) -> CountingDecoder:
        return CountingDecoder(codec.mimeType.split("/")[0])

    receiver.get_decoder = get_decoder  # type: ignore[assignment]


async def viewers_main(base: str, stream_id: str, n: int, rendition: str, decode: bool) -> int:
    from tests.viewer import watch

    if not decode:
        _install_counting_decoders()
    commands = await _stdin_lines()

    async with aiohttp.ClientSession() as http:
        viewers = []

        def counts() -> dict[str, list[int]]:
            if decode:
                return {
                    "video": [v.video_frames for v in viewers],
                    "audio": [v.audio_frames for v in viewers],
                }
            out: dict[str, list[int]] = {"video": [], "audio": []}
            for d in CountingDecoder.instances:
                out[d.kind].append(d.frames)
            return out

        t0 = time.monotonic()
        for _ in range(n):
            viewers.append(await watch(http, base, stream_id, rendition=rendition))
        deadline = time.monotonic() + 30
        while True:
            now = counts()
            if all(len(now[k]) == n and min(now[k]) > 0 for k in ("video", "audio")):
                break
            if time.monotonic() > deadline:
                emit(event="error", message=f"viewers did not all receive media: {counts()}")
                return 1
            await asyncio.sleep(0.05)
        emit(event="ready", join_seconds=time.monotonic() - t0)
        while (cmd := await commands.get()) is not None:
            if cmd == "counts":
                emit(event="counts", t=time.monotonic(), **counts())
            elif cmd == "quit":
                break
        statuses = [await v.delete(http, base) for v in viewers]
        emit(event="done", deleted=statuses.count(200))
    return 0


# ======================================================================= the harness


class Child:
    """A child process speaking the ``@@bench`` line protocol on stdout."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.ps = psutil.Process(self.proc.pid)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, event: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise BenchError(f"{self.name} exited ({self.proc.wait()}):\n{self.tail()}")
            if not line.startswith(PROTO):
                self.log.append(line)
                continue
            msg = json.loads(line[len(PROTO) :])
            if msg.get("event") == "error":
                raise BenchError(f"{self.name}: {msg.get('message')}")
            if msg.get("event") == event:
                return msg
        raise BenchError(f"{self.name}: no {event!r} in {timeout:g} s:\n{self.tail()}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def tail(self) -> str:
        return "".join(self.log[-30:])

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system

    def main_thread_cpu(self) -> float:
        """CPU of the process's main thread: for the server, its event loop (HTTP, aiortc
        sending and receiving, HLS publishing); x264, the encoder thread and decoders run in
        other threads."""
        for t in self.ps.threads():
            if t.id == self.ps.pid:
                return t.user_time + t.system_time
        return 0.0

    def close(self, timeout: float = 30.0) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


async def create_stream(dsn: str) -> tuple[str, str]:
    from api.streams import store
    from teezu.db import apply_migrations, create_pool

    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        await apply_migrations(pool)
        row, token = await store.create_stream(pool, title="bench whep", creator_handle="bench")
        return str(row.id), token
    finally:
        await pool.close()


async def wait_live(base: str, stream_id: str, within: float) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/hls/{stream_id}/index.m3u8") as res:
                    if res.status == 200:
                        return
            await asyncio.sleep(0.25)
    raise BenchError("the stream did not go live")


def _machine_busy() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine so far."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    steal = getattr(t, "steal", 0.0)
    return sum(t) - idle - steal, steal


def window(procs: dict[str, Child], seconds: float) -> dict[str, float]:
    """CPU seconds of each process over ``seconds`` of wall time, plus ``wall``, ``others``
    (every other process of the machine: load we do not control) and ``steal``."""
    before = {name: c.cpu() for name, c in procs.items()}
    loop0 = procs["server"].main_thread_cpu()
    busy0, steal0 = _machine_busy()
    t0 = time.monotonic()
    time.sleep(seconds)
    out = {name: c.cpu() - before[name] for name, c in procs.items()}
    out["server_loop"] = procs["server"].main_thread_cpu() - loop0
    busy1, steal1 = _machine_busy()
    out["wall"] = time.monotonic() - t0
    out["others"] = max(0.0, busy1 - busy0 - sum(out[name] for name in procs))
    out["steal"] = steal1 - steal0
    return out


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def top_rendition() -> dict[str, Any]:
    from teezu.settings import Settings

    return max(Settings().renditions, key=lambda r: r.height).model_dump()


def measure_encode(seconds: float) -> dict[str, float]:
    """CPU per media second of one more top-rung (720p) encode, same x264 options."""
    from engine.encoder import VideoEncoder, ladder
    from teezu.settings import Settings
    from tests.publisher import PatternVideoTrack

    top = ladder(Settings())[0]
    pattern = PatternVideoTrack(top.width, top.height, top.fps)
    frames = []
    for n in range(min(int(seconds * top.fps), 2 * top.keyint)):
        pattern._n = n
        frames.append(pattern._frame((top.width, top.height)))
    total = int(seconds * top.fps)
    enc = VideoEncoder(top)
    t0, c0 = time.monotonic(), self_cpu()
    for slot in range(total):
        enc.encode(frames[slot % len(frames)], slot)
    enc.flush()
    cpu, wall = self_cpu() - c0, time.monotonic() - t0
    return {
        "media": total / top.fps,
        "cpu": cpu,
        "wall": wall,
        "per_media_s": cpu * top.fps / total,
    }


def measure_audio(seconds: float) -> dict[str, float]:
    """CPU per media second of the shared Opus encode and of AAC, on the same tone PCM."""
    from engine.encoder import AudioEncoder, OpusEncoder

    n = 960
    chunks = []
    for i in range(int(seconds * 48_000 / n)):
        t = np.arange(i * n, (i + 1) * n) / 48_000.0
        pcm = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(pcm, 2)[None, :], format="s16", layout="stereo"
        )
        frame.sample_rate = 48_000
        frame.time_base = Fraction(1, 48_000)
        chunks.append(frame)
    out = {}
    for name, followers in (("aac", []), ("aac+opus", [OpusEncoder()])):
        enc = AudioEncoder(followers=followers)
        c0 = time.thread_time()
        for f in chunks:
            enc.encode(f)
        enc.flush()
        out[name] = (time.thread_time() - c0) / seconds
    out["opus"] = out["aac+opus"] - out["aac"]
    return out


def run(args: argparse.Namespace) -> int:
    from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

    load_start = os.getloadavg()
    me = [sys.executable, str(Path(__file__).resolve())]
    result: dict[str, Any] = {"args": vars(args).copy()}
    with tempfile.TemporaryDirectory(prefix="bench-whep-") as tmp_s:
        tmp = Path(tmp_s)
        pg = EmbeddedPostgres(default_data_dir(tmp / "pgvar"))
        dsn = pg.start()
        children: list[Child] = []
        try:
            stream_id, token = asyncio.run(create_stream(dsn))
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                **os.environ,
                "TEEZU_DATABASE_URL": dsn,
                "TEEZU_HOST": "127.0.0.1",
                "TEEZU_PORT": str(port),
                "TEEZU_EDGE_PORT": "0",  # WHEP viewers only: no LL-HLS edge
                "TEEZU_VAR_DIR": str(tmp / "var"),
                "TEEZU_LOG_LEVEL": "WARNING",
                # The bench's stream has no verified performers: the go-live gate is not measured.
                "TEEZU_REQUIRE_VERIFICATION": "false",
                # New streams are rated adult: the benchmark's anonymous readers would need age
                # verification (and playback tokens) under the default age gate.
                "TEEZU_AGE_GATE_ENABLED": "false",
            }
            if args.ladder == "top":
                env["TEEZU_RENDITIONS"] = json.dumps([top_rendition()])
            server = Child("server", [str(Path(sys.executable).parent / "teezu"), "serve"], env)
            children.append(server)
            _wait_http(base + "/healthz", server, 60)
            publisher = Child("publisher", me + ["_publish", base, stream_id, token])
            children.append(publisher)
            publisher.expect("published", 60)
            asyncio.run(wait_live(base, stream_id, 30))
            print(f"live; warming up {args.warmup:g} s ...", flush=True)
            time.sleep(args.warmup)

            procs = {"server": server, "publisher": publisher}
            print(f"0 viewers: {args.seconds:g} s ...", flush=True)
            w_before = window(procs, args.seconds)
            cmd = ["_viewers", base, stream_id, str(args.viewers), args.rendition]
            viewers = Child("viewers", me + cmd + (["--decode"] if args.decode else []))
            children.append(viewers)
            ready = viewers.expect("ready", 90)
            time.sleep(2.0)  # past the joins' GOP replays
            print(f"{args.viewers} viewers: {args.seconds:g} s ...", flush=True)
            viewers.send("counts")
            c0 = viewers.expect("counts")
            w_with = window({**procs, "viewers": viewers}, args.seconds)
            viewers.send("counts")
            c1 = viewers.expect("counts")
            viewers.send("quit")
            done = viewers.expect("done", 30)
            viewers.close()
            time.sleep(2.0)
            print(f"0 viewers again: {args.seconds:g} s ...", flush=True)
            w_after = window(procs, args.seconds)
        finally:
            for child in reversed(children):
                if child.name == "server" and child.proc.poll() is None:
                    child.proc.send_signal(signal.SIGINT)  # graceful: broadcasts end cleanly
                child.close()
            pg.stop()

    print(f"one extra 720p encode: {args.encode_seconds:g} media s in-process ...", flush=True)
    encode = measure_encode(args.encode_seconds)
    audio = measure_audio(args.encode_seconds)

    dt = c1["t"] - c0["t"]
    fps = [(b - a) / dt for a, b in zip(c0["video"], c1["video"], strict=True)]
    aps = [(b - a) / dt for a, b in zip(c0["audio"], c1["audio"], strict=True)]
    if not fps or min(fps) <= 0:
        raise BenchError(f"a viewer received no video during the window: {fps}")
    windows = {"before": w_before, "with": w_with, "after": w_after}
    per = {k: w["server"] / w["wall"] for k, w in windows.items()}
    loop = {k: w["server_loop"] / w["wall"] for k, w in windows.items()}
    baseline = (per["before"] + per["after"]) / 2
    increment = per["with"] - baseline
    loop_increment = loop["with"] - (loop["before"] + loop["after"]) / 2
    loop_ratio = loop_increment / (args.viewers * encode["per_media_s"])
    ratio = increment / (args.viewers * encode["per_media_s"])
    result.update(
        stream_id=stream_id,
        windows=windows,
        cpu_per_media_s=per,
        loop_cpu_per_media_s=loop,
        loop_increment=loop_increment,
        loop_ratio=loop_ratio,
        baseline=baseline,
        increment=increment,
        per_viewer=increment / args.viewers,
        encode_720p=encode,
        audio=audio,
        ratio=ratio,
        viewer_fps=fps,
        viewer_audio_pps=aps,
        join_seconds=ready["join_seconds"],
        deleted=done["deleted"],
        load=[load_start, os.getloadavg()],
    )
    report(args, result)
    write_report(Path(args.json) if args.json else None, result)
    return 0


def _wait_http(url: str, child: Child, timeout: float) -> None:
    async def poll() -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if child.proc.poll() is not None:
                    raise BenchError(f"the server exited:\n{child.tail()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(url) as res:
                        if res.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise BenchError("the server did not answer /healthz")

    asyncio.run(poll())


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    n = args.viewers
    w = r["windows"]
    print()
    print(
        f"TeezU Live WHEP benchmark: 1 live stream ("
        f"{'the configured ladder' if args.ladder == 'full' else 'top rung only'} + AAC + Opus), "
        f"{n} aiortc WHEP viewers of {args.rendition} in another process "
        f"({'decoding' if args.decode else 'not decoding'}), {args.seconds:g} s windows"
    )
    cpus = len(os.sched_getaffinity(0))
    (l1, _, _), (l2, _, _) = r["load"]
    print(f"machine: {cpus} usable CPUs; load average (1 min) at start {l1:.2f}, at end {l2:.2f}")
    print()
    print(
        f"{'server process':<36}{'viewers':>8}{'CPU s':>9}{'wall s':>9}{'CPU s/media s':>15}"
        f"{'loop thread':>13}{'other load':>12}"
    )
    print("-" * 102)
    for key, label, v in (
        ("before", "0 viewers", 0),
        ("with", f"{n} viewers", n),
        ("after", "0 viewers again", 0),
    ):
        row = w[key]
        print(
            f"{label:<36}{v:>8}{row['server']:>9.2f}{row['wall']:>9.2f}"
            f"{r['cpu_per_media_s'][key]:>15.3f}{r['loop_cpu_per_media_s'][key]:>13.3f}"
            f"{row['others'] / row['wall']:>12.2f}"
        )
    e = r["encode_720p"]
    print("-" * 102)
    print(f"{'baseline (mean of the 0-viewer windows)':<62}{r['baseline']:>15.3f}")
    print(f"{f'increment for {n} viewers':<62}{r['increment']:>15.3f}")
    print(f"{'increment per viewer':<62}{r['per_viewer']:>15.4f}")
    print(
        f"{'  of which in the event-loop thread (aiortc sending), per viewer':<62}"
        f"{r['loop_increment'] / n:>15.4f}"
    )
    print(f"{'one extra 720p x264 encode (same options, in-process)':<62}{e['per_media_s']:>15.3f}")
    print(f"{f'{n} extra 720p encodes':<62}{n * e['per_media_s']:>15.3f}")
    print()
    print(
        f"ratio ({n}-viewer increment)/({n} encodes): {r['ratio']:.3f}   "
        f"(one viewer costs {r['per_viewer'] / e['per_media_s']:.1%} of one 720p encode)"
    )
    print(
        f"  same ratio from the event-loop thread alone: {r['loop_ratio']:.3f} "
        "(where aiortc sends; holds even when the encoders are starved of CPU)"
    )
    a = r["audio"]
    print(
        f"shared Opus encode (once per stream): {a['opus']:.4f} CPU s/media s "
        f"(AAC on the same PCM: {a['aac']:.4f})"
    )
    fps, aps = r["viewer_fps"], r["viewer_audio_pps"]
    print(
        f"viewers: video frames/s min {min(fps):.1f} median {statistics.median(fps):.1f}; "
        f"audio packets/s median {statistics.median(aps) if aps else 0:.1f}; all {n} joined "
        f"in {r['join_seconds']:.2f} s; {r['deleted']}/{n} DELETEs answered 200"
    )
    cw = w["with"]
    print(
        f"client processes during the {n}-viewer window (not counted): publisher "
        f"{cw['publisher'] / cw['wall']:.3f}, viewers {cw['viewers'] / cw['wall']:.3f} CPU s/s"
    )
    print(
        "loop thread = the server's event-loop thread alone (HTTP, aiortc send/receive, HLS "
        "publishing); the rest is the encoder thread, x264's threads and the decoders"
    )
    print(
        "other load = CPU s/s used by every other process of the machine during the window "
        "(not ours; steal "
        + ", ".join(f"{w[k]['steal'] / w[k]['wall']:.2f}" for k in ("before", "with", "after"))
        + ")"
    )
    disturbed = max((w[k]["others"] + w[k]["steal"]) / w[k]["wall"] for k in w)
    if statistics.median(fps) < 27 or disturbed > 0.3:
        print(
            "WARNING: the server did not keep up (viewers below 27 fps) or other processes / "
            "the hypervisor (steal) took CPU: the figures above are not reliable; run again "
            "on a quiet machine"
        )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_publish"]:
        return asyncio.run(publisher_main(*argv[1:4]))
    if argv[:1] == ["_viewers"]:
        base, stream_id, n, rendition = argv[1:5]
        return asyncio.run(viewers_main(base, stream_id, int(n), rendition, "--decode" in argv))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--viewers", type=int, default=10)
    p.add_argument("--rendition", default="720p")
    p.add_argument(
        "--ladder",
        choices=("full", "top"),
        default="top",
        help="the server encodes only the ladder's top rung (default: leaves CPU headroom on 2 "
        "vCPUs, where the full ladder + publisher + 10 viewers starve the encoders and hide "
        "the increment), or the full configured ladder",
    )
    p.add_argument("--seconds", type=float, default=20.0, help="length of each CPU window")
    p.add_argument("--warmup", type=float, default=6.0)
    p.add_argument("--encode-seconds", type=float, default=10.0)
    p.add_argument("--decode", action="store_true", help="viewers decode for real")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    try:
        return run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
