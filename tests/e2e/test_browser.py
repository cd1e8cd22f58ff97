"""The platform in a real browser: Chromium publishes from the studio page, a second page watches.

"The studio page goes live for ~15 s; a second page plays the watch page and its
``video.currentTime`` advances by at least 5 s while live; after Stop the playlist ends."
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page

from api.auth.rbac import Role
from tests.accounts import Account
from tests.e2e.watchpage import VIDEO, video_time, wait_watch_state
from tests.hlscheck import variant_url, wait_for_playlist

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PHONE = {"width": 390, "height": 844}
# The studio is a lazily loaded screen: its preview exists once the route has rendered.
PREVIEW_SHOWS = "(document.getElementById('preview') || {}).videoWidth > 0"


async def body_state(page: Page) -> str:
    return await page.evaluate("document.body.dataset.state")


async def wait_studio_live(page: Page, within: float = 20.0) -> None:
    """Wait for the studio to be live; fail with its #message if it errors out instead."""
    deadline = time.monotonic() + within
    state = ""
    while time.monotonic() < deadline:
        state = await body_state(page)
        if state == "live":
            return
        if state == "error":
            pytest.fail(f"studio went to 'error': {await page.text_content('#message')!r}")
        await asyncio.sleep(0.2)
    pytest.fail(
        f"studio not live in {within}s (state {state!r}, message "
        f"{await page.text_content('#message')!r})"
    )


async def wait_body_state(page: Page, want: str, within: float) -> None:
    try:
        await page.wait_for_function(
            "(want) => document.body.dataset.state === want", arg=want, timeout=within * 1000
        )
    except Exception:
        pytest.fail(
            f"{page.url}: body data-state is {await body_state(page)!r}, not {want!r} after "
            f"{within}s (message {await page.text_content('#message')!r})"
        )


async def stream_status(http, base_url: str, stream_id: str) -> str:
    async with http.get(f"{base_url}/api/v1/streams/{stream_id}") as res:
        assert res.status == 200, await res.text()
        return (await res.json())["data"]["state"]


async def wait_stream_status(http, base_url: str, stream_id: str, want: str, within: float) -> None:
    deadline = time.monotonic() + within
    state = ""
    while time.monotonic() < deadline:
        state = await stream_status(http, base_url, stream_id)
        if state == want:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"stream {stream_id} is {state!r}, not {want!r} after {within}s")


async def sign_in(page: Page, email: str, password: str) -> None:
    """Fill the studio's sign-in form (the session cookie is httpOnly: the page never sees it)."""
    await page.wait_for_selector("#login:not([hidden])", timeout=10_000)
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#signin")


async def open_studio(
    browser: BrowserContext, console, base_url: str, stream_id: str, creator: Account | str
) -> Page:
    """The studio page for ``stream_id``, signed in as ``creator`` (or with a pasted token)."""
    page = console.watch(await browser.new_page(), "studio")
    if isinstance(creator, str):
        await page.goto(f"{base_url}/studio/{stream_id}#token={creator}")
        return page
    await page.goto(f"{base_url}/studio/{stream_id}")
    await sign_in(page, creator.email, creator.password)
    await page.wait_for_function("document.body.dataset.account === 'signed-in'", timeout=10_000)
    return page


async def test_studio_publishes_and_watch_page_plays(
    server, http, creator_stream, browser, console
):
    stream_id, creator = await creator_stream("E2E browser")
    base = server.base_url

    # 1. Sign in and go live from the studio page (Chromium's fake camera and microphone).
    studio = await open_studio(browser, console, base, stream_id, creator)
    assert await studio.text_content("#handle") == "@" + creator.handle
    assert await body_state(studio) == "idle"
    await studio.click("#golive")
    await wait_studio_live(studio)
    went_live = time.monotonic()
    assert await stream_status(http, base, stream_id) == "live"
    session = server.broadcasts[stream_id]
    playlist_url = await variant_url(http, base, stream_id)

    # 2. A second page watches; its clock must advance by >= 5 s while we are live.
    watch = console.watch(await browser.new_page(), "watch")
    await watch.goto(f"{base}/watch/{stream_id}")
    await wait_watch_state(watch, "live", 15)
    watch_live = time.monotonic()
    await watch.wait_for_function(
        f"{VIDEO} && {VIDEO}.currentTime > 0", timeout=25_000, polling=200
    )
    t0 = await video_time(watch)
    print(f"\nwatch page playing {time.monotonic() - watch_live:.1f}s after it showed live")
    advanced = 0.0
    while time.monotonic() - went_live < 15 or advanced < 5:
        await asyncio.sleep(0.5)
        advanced = await video_time(watch) - t0
        if time.monotonic() - went_live > 30:
            break
        assert await body_state(studio) == "live", await studio.text_content("#message")
    video = await watch.evaluate(
        """() => { const v = window.teezuWatch.video();
                   return { w: v.videoWidth, h: v.videoHeight, paused: v.paused, t: v.currentTime,
                            err: v.error && v.error.message }; }"""
    )
    sent = await studio.evaluate(
        """() => { const s = document.getElementById('preview').srcObject;
                   const t = s && s.getVideoTracks()[0];
                   return t ? t.getSettings() : null; }"""
    )
    print(
        f"\nlive {time.monotonic() - went_live:.1f}s; watch advanced {advanced:.2f}s; "
        f"video {video}; camera sent {sent and (sent.get('width'), sent.get('height'))}"
    )
    assert advanced >= 5, f"watch page currentTime advanced only {advanced:.2f}s ({video})"
    # hls.js picks a rung of the ladder by its bandwidth estimate; whatever the camera sent,
    # each rung has its fixed size.
    assert (video["w"], video["h"]) in {(1280, 720), (854, 480), (426, 240)}, video
    # And what the browser sent over WebRTC reached 720p (bitrate hints + maintain-resolution),
    # not the 640x360 a slow bandwidth ramp would give for tens of seconds.
    received = session.pipeline.stats.input_sizes
    print(f"decoded input sizes from Chromium: {received}")
    assert (1280, 720) in received, received

    # 3. Stop: the playlist ends, the API says ended, the watch page says ended.
    await studio.click("#stop")
    await wait_body_state(studio, "stopped", 10)
    # 'Ending the broadcast…' while the DELETE is in flight, then:
    await studio.wait_for_function(
        "document.getElementById('message').textContent === 'Broadcast ended.'", timeout=10_000
    )
    pl = await wait_for_playlist(http, playlist_url, ended=True, timeout=10)
    assert pl.is_endlist and len(pl.segments) >= 5, pl.dumps()
    await wait_stream_status(http, base, stream_id, "ended", 10)
    await wait_watch_state(watch, "ended", 10)
    assert stream_id not in server.broadcasts
    # The studio ends the WHIP session with DELETE (RFC 9725), not by dropping the connection.
    assert session.stop_reason == "publisher sent DELETE", session.stop_reason
    assert not console.page_errors(), console.page_errors()
    assert not [line for line in console.lines if "/whip/" in line and "404" in line], console.lines

    if console.lines:
        print("browser console:\n" + "\n".join(console.lines))


async def test_pages_fit_a_phone(server, new_stream, browser, console, tmp_path: Path):
    title = "A title long enough to wrap on a phone screen, surely"
    stream_id, token = await new_stream(title)
    pages = (
        ("watch", f"/watch/{stream_id}"),
        ("studio", f"/studio/{stream_id}#token={token}"),
        ("studio-no-token", f"/studio/{stream_id}"),  # Go live signed out: error + sign-in form
    )
    for name, path in pages:
        page = console.watch(await browser.new_page(), name)
        await page.set_viewport_size(PHONE)
        await page.goto(server.base_url + path)
        if name == "watch":
            await page.get_by_test_id("stream-title").get_by_text(title).wait_for()
        else:
            await page.wait_for_function(PREVIEW_SHOWS)
        if name == "studio-no-token":
            await page.wait_for_function("document.body.dataset.account === 'signed-out'")
            await page.click("#golive")
            await wait_body_state(page, "error", 5)
            assert "Sign in" in await page.text_content("#message")
            assert await page.is_visible("#login")
        await page.wait_for_timeout(300)
        width = await page.evaluate("document.documentElement.scrollWidth")
        shot = tmp_path / f"{name}-390x844.png"
        await page.screenshot(path=str(shot), full_page=True)
        print(f"\n{name}: scrollWidth {width}, screenshot {shot}")
        assert width <= PHONE["width"], f"{name} page overflows horizontally: scrollWidth {width}"
        await page.close()
    assert not console.page_errors(), console.page_errors()


async def test_wrong_password_then_sign_in_go_live_and_safe_word(
    server, http, creator_stream, account, browser, console
):
    stream_id, creator = await creator_stream("Wrong password")
    base = server.base_url
    studio = console.watch(await browser.new_page(), "studio")
    await studio.goto(f"{base}/studio/{stream_id}")
    await sign_in(studio, creator.email, "not the password")
    await studio.wait_for_function(
        "document.getElementById('message').textContent.includes('INVALID_CREDENTIALS')"
    )
    assert await studio.evaluate("document.body.dataset.account") == "signed-out"

    # Another creator's account may not publish this stream.
    rival = await account(Role.CREATOR)
    await sign_in(studio, rival.email, rival.password)
    await studio.wait_for_function("document.body.dataset.account === 'signed-in'")
    await studio.click("#golive")
    await wait_body_state(studio, "error", 15)
    message = await studio.text_content("#message")
    assert "NOT_STREAM_OWNER" in message, message
    assert await studio.is_enabled("#golive")
    assert await stream_status(http, base, stream_id) == "idle"
    assert stream_id not in server.broadcasts

    await studio.click("#logout")
    await sign_in(studio, creator.email, creator.password)
    await studio.wait_for_function("document.body.dataset.account === 'signed-in'")
    await studio.click("#golive")
    await wait_studio_live(studio)
    playlist_url = await variant_url(http, base, stream_id)
    await wait_for_playlist(http, playlist_url, segments=1, timeout=15)
    assert await stream_status(http, base, stream_id) == "live"
    session = server.broadcasts[stream_id]

    # The safe word: one big button (thumb-sized), then an explicit confirmation to resume.
    box = await studio.locator("#safeword").bounding_box()
    assert box is not None and box["height"] >= 88, box
    await studio.click("#safeword")
    await studio.wait_for_function("document.body.dataset.frozen === 'yes'", timeout=10_000)
    assert session.pipeline.frozen_reason == "safe word"
    assert await studio.is_visible("#resume")
    # unticked, the form does not submit
    assert await studio.evaluate("document.getElementById('resume').checkValidity()") is False
    await studio.check("#resume-confirm")
    await studio.click("#resume-button")
    await studio.wait_for_function("document.body.dataset.frozen === 'no'", timeout=10_000)
    assert session.pipeline.frozen_reason is None
    # The room tells every page of the unfreeze; the studio says so once the API has answered.
    await studio.wait_for_function(
        "document.getElementById('message').textContent.includes('Resumed')", timeout=10_000
    )

    await studio.click("#stop")
    await wait_body_state(studio, "stopped", 10)
    await wait_for_playlist(http, playlist_url, ended=True, timeout=10)
    await wait_stream_status(http, base, stream_id, "ended", 10)
    assert session.stop_reason == "publisher sent DELETE", session.stop_reason
    assert not console.page_errors(), console.page_errors()
