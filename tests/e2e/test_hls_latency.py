"""hls.js in low-latency mode plays a stream Chromium publishes from the studio, over LL-HLS.

The studio page publishes Chromium's fake camera and microphone over WHIP; the watch page plays
the master playlist with hls.js's light build (``lowLatencyMode``) from the LL-HLS edge
(``hls/edge.py``, at the ``hlsUrl`` the stream API names, on another port: cross-origin, as in
production). The test checks that hls.js really runs the low-latency path (it parsed the
playlists' parts, uses blocking reloads with ``_HLS_msn``/``_HLS_part`` and loads part URIs)
and records the live latency hls.js reports, in the test output (``-s``). Figures are printed,
never asserted against a time budget: ``loadtests/bench_latency.py`` measures glass to glass.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from playwright.async_api import Request

from tests.e2e.test_browser import open_studio, wait_studio_live
from tests.e2e.watchpage import wait_watch_state

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

HLS_STATE = """() => {
  const h = window.teezuWatch.hls(), v = window.teezuWatch.video();
  if (!h) return null;
  const level = h.levels[h.currentLevel] || h.levels[h.loadLevel];
  const d = level && level.details;
  return {
    lowLatencyMode: h.lowLatencyMode, latency: h.latency, targetLatency: h.targetLatency,
    drift: h.drift, currentTime: v.currentTime, height: v.videoHeight,
    parts: d ? d.partList && d.partList.length : 0, partTarget: d ? d.partTarget : 0,
    canBlockReload: d ? d.canBlockReload : false, live: d ? d.live : false,
  };
}"""


async def test_hls_js_low_latency_plays_and_reports_its_latency(
    server, http, creator_stream, browser, console
):
    stream_id, creator = await creator_stream("LL-HLS latency")
    base = server.base_url
    studio = await open_studio(browser, console, base, stream_id, creator)
    await studio.click("#golive")
    await wait_studio_live(studio)
    try:
        watch = console.watch(await browser.new_page(), "watch")
        requests: list[str] = []

        def on_request(req: Request) -> None:
            if "/hls/" in req.url:
                requests.append(req.url)

        watch.on("request", on_request)
        await watch.goto(f"{base}/watch/{stream_id}")
        await wait_watch_state(watch, "live", 15)
        await watch.wait_for_function(
            "window.teezuWatch && window.teezuWatch.hls() && "
            "window.teezuWatch.video().currentTime > 1",
            timeout=30_000,
            polling=200,
        )
        # Let hls.js settle on its target latency, then sample what it reports for ~6 s.
        await asyncio.sleep(3)
        samples = []
        t0 = (await watch.evaluate(HLS_STATE))["currentTime"]
        end = time.monotonic() + 6
        while time.monotonic() < end:
            state = await watch.evaluate(HLS_STATE)
            assert state is not None, "hls.js is no longer playing"
            samples.append(state)
            await asyncio.sleep(0.5)
        last = samples[-1]
        latencies = [s["latency"] for s in samples]
        print(
            f"\nhls.js low-latency mode: latency p50 {statistics.median(latencies):.2f}s "
            f"(min {min(latencies):.2f}, max {max(latencies):.2f}) over {len(samples)} samples; "
            f"target {last['targetLatency']:.2f}s, drift {last['drift']:.3f}, playing "
            f"{last['height']}p; {last['parts']} parts in its playlist "
            f"(PART-TARGET {last['partTarget']:.3f}s)"
        )

        assert last["lowLatencyMode"] is True, last
        assert last["live"] and last["canBlockReload"], last
        # hls.js parsed EXT-X-PART lines: it is on the LL-HLS path, not the plain segment path.
        assert last["parts"] > 0 and 0 < last["partTarget"] <= 0.5, last
        assert all(lat > 0 for lat in latencies), latencies
        assert last["currentTime"] - t0 >= 4, (t0, last)  # it kept playing
        # Blocking playlist reloads and part loads went out (URIs per hls/playlist.py).
        blocking = [u for u in requests if "_HLS_msn=" in u and "_HLS_part=" in u]
        part_loads = [u for u in requests if ".m4s" in u and "part" in u.rsplit("/", 1)[-1]]
        assert blocking, requests[-20:]
        assert part_loads, requests[-20:]
        # The watch page plays from the LL-HLS edge the API names (hlsUrl), cross-origin.
        assert all(u.startswith(server.edge_url + "/hls/") for u in blocking + part_loads), (
            requests[-20:]
        )
        assert not console.page_errors(), console.page_errors()
    finally:
        await studio.click("#stop")
