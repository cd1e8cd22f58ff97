"""The web app and the studio work under the CSP: sign in, go live, play with hls.js.

Runs in a Chromium context that enforces the CSP, records every ``securitypolicyviolation``,
and polls from Python (Playwright's ``wait_for_function`` would need ``eval`` in the page).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import Page

from tests.e2e.test_browser import sign_in, stream_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


async def until(page: Page, expression: str, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await page.evaluate(expression):
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"{page.url}: {expression!r} still false after {within}s")


async def test_pages_work_under_the_csp(server, http, creator_stream, strict_browser, console):
    stream_id, creator = await creator_stream("Under the CSP")
    base = server.base_url
    await strict_browser.add_init_script(RECORD_VIOLATIONS)

    home = console.watch(await strict_browser.new_page(), "home")
    await home.goto(base + "/")
    await home.get_by_role("heading", name="Live now").wait_for(timeout=10_000)

    studio = console.watch(await strict_browser.new_page(), "studio")
    await studio.goto(f"{base}/studio/{stream_id}")
    await until(studio, "document.body.dataset.account === 'signed-out'", 10)
    await sign_in(studio, creator.email, creator.password)
    await until(studio, "document.body.dataset.account === 'signed-in'", 10)
    await studio.click("#golive")
    await until(studio, "document.body.dataset.state === 'live'", 20)
    assert await stream_status(http, base, stream_id) == "live"
    try:
        watch = console.watch(await strict_browser.new_page(), "watch")
        await watch.goto(f"{base}/watch/{stream_id}")
        # hls.js: its worker and MediaSource come from blob: URLs.
        await until(watch, "window.teezuWatch && window.teezuWatch.video().currentTime > 1", 30)
        # Discover refreshes its live list every 10 s.
        await home.get_by_role("link", name="Under the CSP").wait_for(timeout=20_000)
        for page in (home, studio, watch):
            violations = await page.evaluate("window.__cspViolations")
            assert violations == [], (page.url, violations)
    finally:
        await studio.click("#stop")
        await until(studio, "document.body.dataset.state === 'stopped'", 10)
    assert not console.page_errors(), console.page_errors()
