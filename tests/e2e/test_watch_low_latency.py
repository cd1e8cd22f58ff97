"""The watch room's "Low latency" mode in Chromium: WHEP playback in the same <video>, and back.

An aiortc publisher (tests.publisher) is live; the watch page switches to WebRTC, plays the
1280x720 rendition (the ladder's own H.264 packets), then switches back to HLS, which ends the
WHEP viewer on the server.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from live.whep import VIEWERS
from tests.e2e.watchpage import LOW_LATENCY, wait_watch_state
from tests.publisher import publish

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

VIDEO_INFO = """() => { const v = window.teezuWatch.video();
  const m = document.querySelector('[data-testid=player-message]');
  return { w: v.videoWidth, h: v.videoHeight, t: v.currentTime, paused: v.paused,
           playback: window.teezuWatch.playback(), message: m ? m.textContent : '' }; }"""


async def test_low_latency_plays_over_whep_then_back_to_hls(
    server, http, new_stream, browser, console
):
    stream_id, token = await new_stream("Low latency")
    pub = await publish(http, server.base_url, stream_id, token)
    try:
        page = console.watch(await browser.new_page(), "watch")
        await page.goto(f"{server.base_url}/watch/{stream_id}")
        await wait_watch_state(page, "live", 15)
        clicked = time.monotonic()
        await page.click(LOW_LATENCY)
        assert await page.get_attribute(LOW_LATENCY, "aria-pressed") == "true"
        try:
            await page.wait_for_function(
                "window.teezuWatch && window.teezuWatch.playback() === 'webrtc' && "
                "window.teezuWatch.video().videoWidth > 0",
                timeout=20_000,
                polling=100,
            )
        except Exception:
            pytest.fail(f"no WebRTC picture: {await page.evaluate(VIDEO_INFO)}")
        first_picture = time.monotonic() - clicked
        t0 = (await page.evaluate(VIDEO_INFO))["t"]
        await asyncio.sleep(4)
        info = await page.evaluate(VIDEO_INFO)
        stats = await page.evaluate(
            """async () => { const r = await window.teezuWatch.peer().getStats(); let out = {};
               r.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') out = {
                 decoded: s.framesDecoded, dropped: s.framesDropped, codec: s.codecId,
                 jitterBufferDelay: s.jitterBufferEmittedCount ?
                   s.jitterBufferDelay / s.jitterBufferEmittedCount : null }; });
               return out; }"""
        )
        print(
            f"\nlow latency: first picture {first_picture:.2f}s after the click; "
            f"after 4 s: {info}; inbound video {stats}"
        )
        assert info["playback"] == "webrtc", info
        assert (info["w"], info["h"]) == (1280, 720), info
        assert info["t"] - t0 >= 2.5, (t0, info)
        assert server.app[VIEWERS].count(stream_id) == 1

        # Back to HLS: the WHEP viewer is deleted on the server.
        await page.click(LOW_LATENCY)
        assert await page.get_attribute(LOW_LATENCY, "aria-pressed") == "false"
        deadline = time.monotonic() + 10
        while server.app[VIEWERS].count(stream_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert server.app[VIEWERS].count(stream_id) == 0
        await page.wait_for_function("window.teezuWatch.playback() === 'hls'", timeout=5_000)
        assert not console.page_errors(), console.page_errors()
    finally:
        await pub.delete(http, server.base_url)
