"""The installable app's service worker (web/public/sw.js) in Chromium: after a visit, a reload
with the network gone still shows the app shell, and Cache Storage holds the shell and its
hashed assets only — no API answer, no media (the product documents' NetworkFirst caching of
API answers is deliberately not done: private data must not sit in a device cache)."""

from __future__ import annotations

import pytest

from tests.e2e.watchpage import VIDEO

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


async def test_offline_reload_shows_the_shell_and_caches_no_api_or_media(
    server, http, new_stream, browser, console
):
    from tests.publisher import publish

    sid, token = await new_stream("Offline shell")
    pub = await publish(http, server.base_url, sid, token)
    try:
        page = console.watch(await browser.new_page(), "pwa")
        # A visit that uses the API and plays media while the worker is in control.
        await page.goto(server.base_url + "/")
        await page.wait_for_function(
            "navigator.serviceWorker.controller !== null || "
            "navigator.serviceWorker.ready.then(() => true)",
            timeout=15_000,
        )
        await page.evaluate("navigator.serviceWorker.ready")
        await page.reload()  # from now on the worker controls the page
        await page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
        await page.goto(f"{server.base_url}/watch/{sid}")
        await page.wait_for_function(f"{VIDEO} && {VIDEO}.currentTime > 1", timeout=30_000)

        cached = await page.evaluate(CACHED_URLS)
        assert "/" in cached and any(u.startswith("/assets/") for u in cached), cached
        leaked = [u for u in cached if u.startswith(("/api/", "/hls/", "/socket.io/", "/whep/"))]
        assert leaked == [], leaked

        # Offline: a reload still shows the app (its shell and chrome), not the browser's error.
        await page.context.set_offline(True)
        try:
            await page.reload()
            await page.get_by_role("link", name="TeezU Live").first.wait_for(timeout=10_000)
            assert await page.locator("#root").inner_html() != ""
        finally:
            await page.context.set_offline(False)
        cached = await page.evaluate(CACHED_URLS)
        assert not [u for u in cached if u.startswith(("/api/", "/hls/"))], cached
    finally:
        await pub.delete(http, server.base_url)
    assert not console.page_errors(), console.page_errors()
