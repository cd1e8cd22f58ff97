"""The watch room renews its playback token without stopping the picture, and stops when the
viewer's access is revoked (Chromium, a followers-only stream, a real broadcast).

The page renews at the grant's ``refreshAt`` (minutes away with the production lifetime); the
test asks for it at once through ``window.teezuWatch.renew()``, the function the timer calls.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from api.auth.rbac import Role
from api.streams import store
from live.whep import VIEWERS
from tests.e2e.watchpage import LOW_LATENCY, PLAYER_MESSAGE, VIDEO, wait_watch_state
from tests.publisher import publish

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PLAYED = f"{VIDEO}.currentTime"


async def test_the_token_is_renewed_in_place_and_revocation_stops_playback(
    server, http, account, ready, browser, console
):
    creator = await account(Role.CREATOR, login=False)
    fan = await account()
    assert (await fan.call("POST", f"/api/v1/users/{creator.handle}/follow")).status == 204
    row, publish_token = await store.create_stream(
        server.pool,
        title="Renewals",
        creator_handle=creator.handle,
        creator_id=creator.id,
        visibility="followers",
    )
    sid, base = str(row.id), server.base_url
    await ready(sid, creator)
    pub = await publish(http, base, sid, publish_token)
    try:
        await browser.add_cookies([{"name": "session", "value": fan.cookie(), "url": base}])
        page = console.watch(await browser.new_page(), "fan")
        media: list[tuple[str, int]] = []
        page.on(
            "response",
            lambda r: media.append((r.url, r.status)) if "/hls/" in r.url else None,
        )
        await page.goto(f"{base}/watch/{sid}")
        await page.wait_for_function(f"{VIDEO} && {PLAYED} > 1", timeout=30_000, polling=200)
        first = await page.evaluate("window.teezuWatch.grant().token")
        await page.evaluate("window.__hls = window.teezuWatch.hls()")

        # HLS: a new token, carried by the requests that follow, in the same player.
        await page.evaluate("window.teezuWatch.renew()")
        second = await page.evaluate("window.teezuWatch.grant().token")
        assert second != first
        played = await page.evaluate(PLAYED)
        await page.wait_for_function(f"{PLAYED} > {played + 2}", timeout=20_000, polling=200)
        assert await page.evaluate("window.teezuWatch.hls() === window.__hls")  # not restarted
        renewed = [s for u, s in media if second in u]
        assert renewed and all(s == 200 for s in renewed), renewed[:5]
        assert not [u for u, s in media if s >= 400], media[-5:]

        # WebRTC: the session made with the new token takes over, the old one is deleted.
        await page.click(LOW_LATENCY)
        await page.wait_for_function(
            f"window.teezuWatch.playback() === 'webrtc' && {VIDEO}.videoWidth > 0",
            timeout=20_000,
            polling=100,
        )
        await page.evaluate("window.__pc = window.teezuWatch.peer()")
        await page.evaluate("window.teezuWatch.renew()")
        await page.wait_for_function(
            "window.teezuWatch.peer() !== window.__pc", timeout=20_000, polling=100
        )
        assert await page.evaluate("window.__pc.connectionState") == "closed"
        played = await page.evaluate(PLAYED)
        await page.wait_for_function(f"{PLAYED} > {played + 1}", timeout=20_000, polling=200)
        deadline = time.monotonic() + 10
        while server.app[VIEWERS].count(sid) != 1:
            assert time.monotonic() < deadline, server.app[VIEWERS].count(sid)
            await asyncio.sleep(0.1)
        await page.click(LOW_LATENCY)  # back to HLS
        await page.wait_for_function("window.teezuWatch.playback() === 'hls'", timeout=5_000)

        # Revoked: the fan unfollows. The media servers refuse the token, the page asks again,
        # the API says no, and the page says why.
        assert (await fan.call("DELETE", f"/api/v1/users/{creator.handle}/follow")).status == 204
        await wait_watch_state(page, "denied", 20)
        assert "PLAYBACK_DENIED" in await page.text_content(PLAYER_MESSAGE)
        assert await page.evaluate("window.teezuWatch.playback()") == "none"
    finally:
        await pub.delete(http, base)
    assert not console.page_errors(), console.page_errors()
