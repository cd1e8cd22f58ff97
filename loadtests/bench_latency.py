#!/usr/bin/env python3
"""Glass-to-glass latency: a clock painted in one Chromium page, read back from the played video.

What runs:

* **server**: ``teezu serve`` (the real application: WHIP, the engine's full ladder, LL-HLS,
  WHEP) on a free port, with an embedded PostgreSQL started by this script.
* **publisher**: a headless Chromium page paints the wall clock (ms) as a grid of black and
  white blocks with a checksum on a 1280x720 canvas, 30 fps, and publishes the canvas (plus a
  tone) over WHIP exactly as the studio page does (``loadtests/latency_clock.js``).
* **readers**, one phase each while the publisher keeps running:

  - ``ll-hls``: the watch page, hls.js in low-latency mode (the page's own configuration);
  - ``whep``: the watch page in "Low latency" mode (WebRTC from the ladder's packets);
  - ``loopback`` (the reference): the same clock sent from one RTCPeerConnection to another in
    one page, no server: what Chromium's capture, encoder, jitter buffer and display cost by
    themselves, measured on the same machine in the same run;
  - ``ll-hls+burn`` and ``whep+burn`` (the **overload** phases): the same readers while a CPU
    burner (``loadtests/burner.py``) keeps one of the cores busy for the whole phase.

  Each reader decodes the clock from every frame its ``<video>`` presents
  (``requestVideoFrameCallback``; "glass" is the frame's expected display time) and records
  display time - painted time. Publisher and readers share one browser, hence one clock.

Printed per phase: samples, p50/p95/p99/max, frames rejected (checksum), the rendition played,
hls.js's own latency estimate, and the ratio of each phase's p50 to the loopback reference;
then, from the server's own ``engine stages`` log lines (``engine.latency``, every 5 s), where
the time went inside the server in each phase (per-stage p50/p99), the frames it took in and
dropped by stage, and the load shedding steps (``engine.shedding``) it took.
In the overload phases the browser (publisher and readers) runs at a higher scheduling
priority than the burner and the server (``nice -10``, when the benchmark may set it): the
burner stands for a noisy neighbour of the *server*, and on this one machine the browser stands
for the creator's and the viewers' own machines, which the neighbour would not slow.
Targets of the product: LL-HLS p50 <= 1.5 s, WHEP p50 <= 0.3 s; under overload LL-HLS p50
<= 2.0 s, WHEP p50 <= 0.5 s. The exit status is non-zero only on errors (a process failing, a
reader decoding nothing), never because of a figure.

    .venv/bin/python loadtests/bench_latency.py                      # 20 s per phase
    .venv/bin/python loadtests/bench_latency.py --seconds 4 --warmup 3   # CI smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from loadtests.bench_whep import (  # noqa: E402
    BenchError,
    Child,
    _wait_http,
    create_stream,
    wait_live,
)
from loadtests.burner import cpu_burner  # noqa: E402
from loadtests.common import free_port, write_report  # noqa: E402
from loadtests.common import percentile as pct  # noqa: E402

CLOCK_JS = Path(__file__).with_name("latency_clock.js")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # Pages in the background must keep painting and decoding at full rate.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
TARGETS = {"ll-hls": 1.5, "whep": 0.3, "ll-hls+burn": 2.0, "whep+burn": 0.5}
PHASES = ("ll-hls", "whep", "loopback", "ll-hls+burn", "whep+burn")

HLS_STATE = """() => { const h = window.teezuWatch && window.teezuWatch.hls();
  return h ? { latency: h.latency, target: h.targetLatency } : null; }"""


async def _reader(page: Any, what: str) -> None:
    await page.add_script_tag(path=str(CLOCK_JS))
    await page.evaluate(f"() => {{ window.teezuRead = teezuClock.startReading({what}); }}")


async def _collect(page: Any, since_ms: float) -> dict[str, Any]:
    return await page.evaluate(
        """(since) => { const r = window.teezuRead;
             const s = r.samples.filter((x) => x.t >= since);
             return { latencies: s.map((x) => x.latency), heights: s.map((x) => x.height),
                      frames: r.frames, rejected: r.rejected }; }""",
        since_ms,
    )


async def _now_ms(page: Any) -> float:
    return float(await page.evaluate("performance.timeOrigin + performance.now()"))


async def measure(page: Any, seconds: float, warmup: float, hls: bool = False) -> dict[str, Any]:
    """Warm up, then keep the samples of the next ``seconds`` (and hls.js's own estimate)."""
    await asyncio.sleep(warmup)
    since = await _now_ms(page)
    before = await page.evaluate("() => ({...window.teezuRead, samples: undefined})")
    reported = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        if hls:
            state = await page.evaluate(HLS_STATE)
            if state:
                reported.append(state)
    got = await _collect(page, since)
    lat = [x / 1000 for x in got["latencies"]]
    heights = sorted(set(got["heights"]))
    out = {
        "samples": len(lat),
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "max": max(lat) if lat else float("nan"),
        "frames": got["frames"] - before["frames"],
        "rejected": got["rejected"] - before["rejected"],
        "heights": heights,
        "fps": len(lat) / seconds,
    }
    if reported:
        out["hlsjs_latency_p50"] = statistics.median(r["latency"] for r in reported)
        out["hlsjs_target"] = reported[-1]["target"]
    if not lat:
        raise BenchError(f"no clock decoded ({out})")
    return out


async def phase_hls(ctx: Any, base: str, stream_id: str, args: argparse.Namespace) -> dict:
    """hls.js on the watch page (its own low-latency configuration)."""
    page = await ctx.new_page()
    await page.goto(f"{base}/watch/{stream_id}")
    await page.wait_for_function(
        "window.teezuWatch && window.teezuWatch.hls() && window.teezuWatch.video().currentTime > 0",
        timeout=60_000,
    )
    await _reader(page, "window.teezuWatch.video()")
    result = await measure(page, args.seconds, args.warmup, hls=True)
    await page.close()
    return result


async def phase_whep(ctx: Any, base: str, stream_id: str, args: argparse.Namespace) -> dict:
    """The watch page's Low latency mode (WebRTC from the ladder's packets)."""
    page = await ctx.new_page()
    await page.goto(f"{base}/watch/{stream_id}")
    await page.locator("[data-testid=player][data-state=live]").wait_for(timeout=60_000)
    await page.click("[data-testid=low-latency]")
    await page.wait_for_function(
        "window.teezuWatch && window.teezuWatch.playback() === 'webrtc' && "
        "window.teezuWatch.video().videoWidth > 0",
        timeout=30_000,
    )
    await _reader(page, "window.teezuWatch.video()")
    result = await measure(page, args.seconds, args.warmup)
    await page.close()
    return result


async def phase_loopback(ctx: Any, base: str, stream_id: str, args: argparse.Namespace) -> dict:
    """The reference: the clock from one RTCPeerConnection to another in one page, no server."""
    page = await ctx.new_page()
    await page.goto(f"{base}/")
    await page.add_script_tag(path=str(CLOCK_JS))
    await page.evaluate(
        """async () => { const v = document.createElement('video');
           v.muted = true; v.autoplay = true; v.playsInline = true;
           document.body.appendChild(v); window.teezuLoopVideo = v;
           await teezuClock.loopback(v); }"""
    )
    await page.wait_for_function("window.teezuLoopVideo.videoWidth > 0", timeout=30_000)
    await page.evaluate(
        "() => { window.teezuRead = teezuClock.startReading(window.teezuLoopVideo); }"
    )
    result = await measure(page, args.seconds, args.warmup)
    await page.close()
    return result


PHASE_RUNNERS = {"ll-hls": phase_hls, "whep": phase_whep, "loopback": phase_loopback}


def server_lines(server: Child) -> list[dict[str, Any]]:
    """The server's JSON log records logged since the last call (the engine's among them)."""
    out = []
    while True:
        try:
            line = server.lines.get_nowait()
        except Exception:  # queue.Empty
            return out
        if line and line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue


def engine_figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-stage delays (median of the 5 s windows' p50, worst p99), frames in and dropped by
    stage over the phase, and the shedding steps taken, from ``engine stages`` records."""
    stages = [r for r in records if r.get("event") == "engine stages"]
    steps = [
        f"{r['previous']}->{r['step_name']} ({r['utilization']:.2f})"
        for r in records
        if r.get("event") == "load shedding step"
    ]
    out: dict[str, Any] = {"windows": len(stages), "shedding": steps}
    if not stages:
        return out
    by_stage: dict[str, list[dict[str, float]]] = {}
    for r in stages:
        for name, figures in r["stages"].items():
            by_stage.setdefault(name, []).append(figures)
    out["stages"] = {
        name: {
            "p50_ms": statistics.median(f["p50_ms"] for f in figs),
            "p99_ms": max(f["p99_ms"] for f in figs),
        }
        for name, figs in sorted(by_stage.items())
    }
    first, last = stages[0], stages[-1]
    out["frames_in"] = last["video_frames_in"] - first["video_frames_in"]
    out["dropped"] = {
        k: v - first["dropped"].get(k, 0)
        for k, v in last["dropped"].items()
        if v - first["dropped"].get(k, 0)
    }
    out["shed_step_end"] = last["shed_step"]
    return out


def prioritize_browser(nice: int = -10) -> str:
    """Give the browser's processes (and the renderers its zygote forks later: they inherit
    it) a higher scheduling priority than the server and the burner. Returns what was done."""
    import psutil

    me = psutil.Process()
    done, refused = 0, 0
    for proc in me.children(recursive=True):
        try:
            if "chrom" in proc.name() or "headless_shell" in proc.name():
                proc.nice(nice)
                done += 1
        except psutil.AccessDenied:
            refused += 1
        except psutil.NoSuchProcess:
            pass
    if refused:
        return f"browser priority: not raised ({refused} processes refused: needs root)"
    return f"browser priority: nice {nice} on {done} processes"


async def run_browser(
    args: argparse.Namespace,
    base: str,
    stream_id: str,
    token: str,
    server: Child,
    notes: dict[str, Any],
) -> dict:
    """The phases' results; what the run did besides (the browser's priority) goes in ``notes``."""
    from playwright.async_api import async_playwright

    results: dict[str, Any] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        if any(name.endswith("+burn") for name in args.phases):
            notes["browser_priority"] = prioritize_browser()
            print(notes["browser_priority"], flush=True)
        try:
            # The pages' CSP allows scripts from 'self' only; the benchmark injects its clock
            # script and polls with wait_for_function (eval), so it runs without the CSP.
            ctx = await browser.new_context(
                viewport={"width": 1280, "height": 800}, bypass_csp=True
            )
            publisher = await ctx.new_page()
            await publisher.goto(f"{base}/")
            await publisher.add_script_tag(path=str(CLOCK_JS))
            await publisher.evaluate(
                "([id, tok]) => teezuClock.publish(id, tok)", [stream_id, token]
            )
            await wait_live(base, stream_id, 30)
            print("live", flush=True)

            for name in args.phases:
                base_name, burn = name.removesuffix("+burn"), name.endswith("+burn")
                print(f"{name}: {args.seconds:g} s ...", flush=True)
                server_lines(server)  # what was logged before this phase is not its own
                try:
                    with cpu_burner(1 if burn else 0):
                        results[name] = await PHASE_RUNNERS[base_name](ctx, base, stream_id, args)
                except Exception as exc:  # noqa: BLE001 - one failed phase keeps the others
                    # (a player that never starts under overload is a result too: printed)
                    print(f"{name}: failed: {exc!r}"[:300], flush=True)
                    results[name] = {"error": repr(exc)[:300]}
                results[name]["server"] = engine_figures(server_lines(server))
        finally:
            await browser.close()
    return results


def run(args: argparse.Namespace) -> dict[str, Any]:
    from teezu.embedded_pg import EmbeddedPostgres, default_data_dir

    result: dict[str, Any] = {"args": vars(args).copy(), "load_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp_s:
        tmp = Path(tmp_s)
        pg = EmbeddedPostgres(default_data_dir(tmp / "pgvar"))
        dsn = pg.start()
        server: Child | None = None
        try:
            stream_id, token = asyncio.run(create_stream(dsn))
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {
                **os.environ,
                "TEEZU_DATABASE_URL": dsn,
                "TEEZU_HOST": "127.0.0.1",
                "TEEZU_PORT": str(port),
                "TEEZU_EDGE_PORT": str(free_port()),  # the LL-HLS edge the watch page plays from
                "TEEZU_VAR_DIR": str(tmp / "var"),
                # INFO in JSON: the engine's per-stage delays ("engine stages", every 5 s).
                "TEEZU_LOG_LEVEL": "INFO",
                "TEEZU_LOG_FORMAT": "json",
                # The bench's stream has no verified performers: the go-live gate is not measured.
                "TEEZU_REQUIRE_VERIFICATION": "false",
                # New streams are rated adult: the benchmark's anonymous readers would need age
                # verification (and playback tokens) under the default age gate.
                "TEEZU_AGE_GATE_ENABLED": "false",
            }
            server = Child("server", [str(Path(sys.executable).parent / "teezu"), "serve"], env)
            _wait_http(base + "/healthz", server, 60)
            cpu0, t0 = server.cpu(), time.monotonic()
            result["phases"] = asyncio.run(
                run_browser(args, base, stream_id, token, server, result)
            )
            result["server_cpu_pct"] = 100 * (server.cpu() - cpu0) / (time.monotonic() - t0)
        finally:
            if server is not None:
                if server.proc.poll() is None:
                    server.proc.send_signal(signal.SIGINT)
                server.close()
            pg.stop()
    result["load_end"] = os.getloadavg()
    return result


def report(r: dict[str, Any]) -> None:
    phases = r["phases"]
    ref = phases.get("loopback", {}).get("p50")
    if all("error" in p for p in phases.values()):
        raise BenchError("every phase failed")
    print(
        f"\nglass-to-glass latency, Chromium canvas clock -> server -> Chromium <video> "
        f"({os.cpu_count()} CPUs, load {r['load_start'][0]:.1f} at start; server CPU "
        f"{r['server_cpu_pct']:.0f}%)"
    )
    header = (
        f"{'path':<10}{'samples':>8}{'fps':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
        f"{'rejected':>9}{'played':>10}{'target':>8}{'p50/ref':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, p in phases.items():
        if "error" in p:
            print(f"{name:<10} failed: {p['error'][:100]}")
            continue
        target = TARGETS.get(name)
        ratio = p["p50"] / ref if ref else float("nan")
        played = "/".join(f"{h}p" for h in p["heights"])
        print(
            f"{name:<10}{p['samples']:>8}{p['fps']:>6.1f}{p['p50']:>8.3f}{p['p95']:>8.3f}"
            f"{p['p99']:>8.3f}{p['max']:>8.3f}{p['rejected']:>9}{played:>10}"
            f"{(f'<={target:g}' if target else 'ref'):>8}"
            f"{(f'{ratio:.1f}x' if name != 'loopback' else ''):>9}"
        )
    hls = phases.get("ll-hls")
    if hls and "hlsjs_latency_p50" in hls:
        print(
            f"\nhls.js's own estimate (distance from the playlist's live edge): p50 "
            f"{hls['hlsjs_latency_p50']:.3f} s, target {hls['hlsjs_target']:.3f} s"
        )
    print("\ninside the server, per phase (engine.latency; ms, p50 / worst p99 of 5 s windows):")
    for name, p in phases.items():
        srv = p.get("server", {})
        if not srv.get("stages"):
            print(f"  {name}: no engine records")
            continue
        stages = "  ".join(
            f"{stage} {f['p50_ms']:.0f}/{f['p99_ms']:.0f}" for stage, f in srv["stages"].items()
        )
        print(f"  {name}: {stages}")
        dropped = ", ".join(f"{k} {v}" for k, v in srv["dropped"].items()) or "none"
        steps = "; ".join(srv["shedding"]) or "none"
        print(
            f"    frames in {srv['frames_in']}, dropped: {dropped}; shedding steps: {steps}; "
            f"step at the end: {srv['shed_step_end']}"
        )
    for name, target in TARGETS.items():
        if name in phases and "p50" in phases[name]:
            verdict = "meets" if phases[name]["p50"] <= target else "MISSES"
            print(f"{name}: p50 {phases[name]['p50']:.3f} s {verdict} the target <= {target:g} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring")
    ap.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma list of " + ",".join(PHASES) + " (+burn: with a CPU burner on one core)",
    )
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        ap.error(f"unknown phases: {sorted(unknown)}")
    try:
        r = run(args)
        write_report(args.json, r)
        report(r)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
