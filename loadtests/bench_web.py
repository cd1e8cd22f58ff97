#!/usr/bin/env python3
"""The web app's weight and speed: each route's JavaScript (gzip) and the time from navigation
to a playing video on the watch route, in headless Chromium on loopback.

What runs:

* **server**: ``teezu serve`` (the real application, serving ``web/dist``) on a free port with an
  embedded PostgreSQL started by this script;
* **publisher**: ``tests.publisher.publish`` (aiortc, 1280x720@30 over WHIP), so the watch route
  plays a live LL-HLS stream;
* **Chromium** (Playwright, ``/usr/bin/chromium``): each route is opened in a fresh context
  (empty cache, no service worker yet) and every JavaScript file it loads is counted, gzip -9
  of its bytes; the watch route counts what it loads until the video plays (hls.js's light build
  and socket.io-client are loaded on demand). Then, ``--runs`` times each in a fresh context:
  navigation to the first ``playing`` event with ``currentTime > 0`` (``performance.now()``,
  which counts from the navigation's start) on the app's watch route, and on a **reference**
  page in the same run: a bare HTML page with hls.js's light build (UMD) playing the same
  playlist, nothing else — what the app adds is the difference.

Targets (issue 14): watch route JS <= 250 KB gzip; first frame playing <= 2.5 s. The exit status
is non-zero only on errors, never because of a figure.

    .venv/bin/python loadtests/bench_web.py            # 5 runs each
    .venv/bin/python loadtests/bench_web.py --runs 2   # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
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

import aiohttp  # noqa: E402

from loadtests.bench_whep import Child, _wait_http, create_stream, wait_live  # noqa: E402
from loadtests.common import free_port  # noqa: E402

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
    # The reference page is fulfilled by Playwright (no address space): let it reach loopback.
    "--disable-features=LocalNetworkAccessChecks",
]
HLS_LIGHT = ROOT / "web" / "node_modules" / "hls.js" / "dist" / "hls.light.min.js"
WATCH_BUDGET_KB = 250
FIRST_FRAME_TARGET_S = 2.5

# Recorded in every page before its own scripts: the first moment a <video> plays a frame.
FIRST_PLAYING = """
window.__firstPlaying = null;
document.addEventListener('playing', (e) => {
  if (window.__firstPlaying === null && e.target.currentTime >= 0) {
    window.__firstPlaying = performance.now();
  }
}, true);
"""

BARE_PAGE = """<!doctype html><html><body>
<video id="v" muted autoplay playsinline></video>
<script src="/__bench/hls.light.min.js"></script>
<script>
  const v = document.getElementById('v');
  const hls = new Hls({ lowLatencyMode: true });
  hls.loadSource(%r); hls.attachMedia(v); v.play().catch(() => {});
</script></body></html>"""


def gz_kb(data: bytes) -> float:
    return len(gzip.compress(data, 9)) / 1000


async def route_js(browser: Any, url: str, until_playing: bool) -> tuple[float, list[str]]:
    """gzip KB of the JavaScript a fresh context loads for ``url``, and the file names."""
    ctx = await browser.new_context(bypass_csp=True)  # polled predicates use eval
    page = await ctx.new_page()
    bodies: dict[str, bytes] = {}

    async def keep(response: Any) -> None:
        if response.url.split("?")[0].endswith(".js") and response.ok:
            try:
                bodies[response.url] = await response.body()
            except Exception:  # a script still streaming when the page closed
                pass

    page.on("response", lambda r: asyncio.ensure_future(keep(r)))
    await page.add_init_script(FIRST_PLAYING)
    await page.goto(url)
    if until_playing:
        await page.wait_for_function("window.__firstPlaying !== null", timeout=60_000)
    await page.wait_for_timeout(1500)  # lazily loaded chunks of the screen
    await ctx.close()
    names = sorted(u.rsplit("/", 1)[-1] for u in bodies)
    return round(sum(gz_kb(b) for b in bodies.values()), 1), names


async def first_frame(browser: Any, url: str, bare_src: str | None) -> float:
    ctx = await browser.new_context(bypass_csp=True)  # polled predicates use eval
    if bare_src is not None:
        await ctx.route(
            "**/__bench/hls.light.min.js",
            lambda r: r.fulfill(path=str(HLS_LIGHT), content_type="text/javascript"),
        )
        await ctx.route(
            "**/__bench/bare.html",
            lambda r: r.fulfill(body=BARE_PAGE % bare_src, content_type="text/html"),
        )
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.add_init_script(FIRST_PLAYING)
    await page.goto(url)
    try:
        await page.wait_for_function("window.__firstPlaying !== null", timeout=60_000)
    except Exception as exc:
        raise RuntimeError(f"{url} never played: {errors[-5:]}") from exc
    ms = await page.evaluate("window.__firstPlaying")
    await ctx.close()
    return ms / 1000


async def run_browser(args: argparse.Namespace, base: str, stream_id: str) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    out: dict[str, Any] = {"routes": {}, "app": [], "bare": []}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{base}/api/v1/streams/{stream_id}") as res,
            ):
                hls_url = (await res.json())["data"]["hlsUrl"]
            routes = {
                "discover /": "/",
                "sign-up /signup": "/signup",
                "sign-in /signin": "/signin",
                "wallet /wallet": "/wallet",
                "studio /studio/:id": f"/studio/{stream_id}",
                "profile /u/:handle": "/u/bench",
                "watch /watch/:id (until playing)": f"/watch/{stream_id}",
            }
            for name, path in routes.items():
                out["routes"][name] = await route_js(browser, base + path, "watch" in name)
            for _ in range(args.runs):
                out["app"].append(await first_frame(browser, f"{base}/watch/{stream_id}", None))
                out["bare"].append(await first_frame(browser, f"{base}/__bench/bare.html", hls_url))
        finally:
            await browser.close()
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from teezu.embedded_pg import EmbeddedPostgres, default_data_dir
    from tests.publisher import publish

    if not (ROOT / "web" / "dist" / "index.html").is_file():
        raise SystemExit("web/dist is not built: run `make setup`")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp_s:
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
                "TEEZU_EDGE_PORT": str(free_port()),  # players load from the LL-HLS edge
                "TEEZU_VAR_DIR": str(tmp / "var"),
                "TEEZU_LOG_LEVEL": "WARNING",
                # The bench's stream has no verified performers: the go-live gate is not measured.
                "TEEZU_REQUIRE_VERIFICATION": "false",
                # Anonymous viewers of an adult-rated stream would need the age gate first.
                "TEEZU_AGE_GATE_ENABLED": "false",
            }
            server = Child("server", [str(Path(sys.executable).parent / "teezu"), "serve"], env)
            _wait_http(base + "/healthz", server, 60)

            async def go() -> dict[str, Any]:
                async with aiohttp.ClientSession() as http:
                    pub = await publish(http, base, stream_id, token)
                    try:
                        await wait_live(base, stream_id, 30)
                        await asyncio.sleep(3)  # a few segments in the playlist
                        return await run_browser(args, base, stream_id)
                    finally:
                        await pub.delete(http, base)

            return asyncio.run(go())
        finally:
            if server is not None:
                if server.proc.poll() is None:
                    server.proc.send_signal(signal.SIGINT)
                server.close()
            pg.stop()


def report(r: dict[str, Any]) -> None:
    print("\nJavaScript per route (fresh context, gzip -9 of every .js file loaded):")
    for name, (kb, files) in r["routes"].items():
        print(f"  {name:34s} {kb:7.1f} KB   ({len(files)} files)")
    watch = next(kb for name, (kb, _) in r["routes"].items() if name.startswith("watch"))
    verdict = "within" if watch <= WATCH_BUDGET_KB else "OVER"
    print(f"  watch route budget {WATCH_BUDGET_KB} KB: {verdict}")
    app, bare = statistics.median(r["app"]), statistics.median(r["bare"])

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    verdict = "within" if app <= FIRST_FRAME_TARGET_S else "OVER"
    print(
        f"\nnavigation -> first frame playing on a live LL-HLS stream, median of {len(r['app'])}:"
        f"\n  the app's watch route   {app:5.2f} s   (runs: {runs(r['app'])})"
        f"\n  bare hls.js page (ref)  {bare:5.2f} s   (runs: {runs(r['bare'])})"
        f"\n  app / reference         {app / bare:5.2f}x"
        f"\n  target {FIRST_FRAME_TARGET_S} s: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    t0 = time.monotonic()
    report(run(args))
    print(f"\n(load average {os.getloadavg()[0]:.2f}; {time.monotonic() - t0:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
