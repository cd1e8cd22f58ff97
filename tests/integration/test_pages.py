"""How the server hands out the web app (api/pages.py): hashed assets cached for good, the app
shell and the service worker revalidated, client-side routes answered with the shell, and the
API, media and realtime paths never mistaken for one."""

from __future__ import annotations

import re

import pytest

from api.pages import DIST

pytestmark = pytest.mark.asyncio(loop_scope="session")


def built_asset() -> str:
    index = (DIST / "index.html").read_text(encoding="utf-8")
    found = re.search(r'src="(/assets/[^"]+\.js)"', index)
    assert found, "web/dist/index.html names no script: run `make setup` (npm run build)"
    return found.group(1)


@pytest.mark.parametrize("route", ["/", "/watch/abc", "/studio/abc", "/wallet", "/u/ann", "/x/y/z"])
async def test_client_side_routes_get_the_app_shell_uncached(client, route):
    r = await client.call("GET", route)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Cache-Control"] == "no-cache"
    assert b'<div id="root">' in r.body
    # The strict policy: no inline script (the shell loads one module from /assets/).
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert b"<script>" not in r.body and b'<script type="module">' not in r.body


async def test_hashed_assets_are_immutable_and_the_worker_is_not(client):
    r = await client.call("GET", built_asset())
    assert r.status == 200 and "javascript" in r.headers["Content-Type"]
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for path in ("/sw.js", "/manifest.webmanifest", "/icons/icon-192.png"):
        r = await client.call("GET", path)
        assert (r.status, r.headers["Cache-Control"]) == (200, "no-cache"), path


@pytest.mark.parametrize("path", ["/assets/nope.js", "/assets/..%2Findex.html", "/icons/nope.png"])
async def test_missing_files_are_404_envelopes(client, path):
    r = await client.call("GET", path)
    assert (r.status, r.code) == (404, "PAGE_NOT_FOUND"), r.body


@pytest.mark.parametrize("path", ["/api/v1/nope", "/hls/nope/index.m3u8", "/whip/nope"])
async def test_api_and_media_paths_are_never_the_shell(client, path):
    r = await client.call("GET", path)
    assert r.status in (404, 405) and isinstance(r.body, dict), (path, r.status)
