"""The HLS origin: content types, cache headers, and the envelope for anything else.

Each test runs against the aiohttp origin and the LL-HLS edge (``hls_server``): the edge
redirects stored objects to the app, and the client follows.
"""

from __future__ import annotations

import uuid

import pytest
import yarl

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def stored(server, new_stream):
    """A (public) stream's objects written straight into the server's storage."""
    storage = server.broadcasts.storage
    sid, _ = await new_stream()
    await storage.put(f"{sid}/index.m3u8", b"#EXTM3U\n", "application/vnd.apple.mpegurl")
    await storage.put(f"{sid}/0badc0de/720p/init.mp4", b"init", "video/mp4")
    await storage.put(f"{sid}/0badc0de/720p/seg7.m4s", b"segment", "video/iso.segment")
    yield sid
    await storage.delete_prefix(sid)


@pytest.mark.parametrize(
    ("name", "ctype", "cache", "body"),
    [
        ("index.m3u8", "application/vnd.apple.mpegurl", "no-cache", b"#EXTM3U\n"),
        ("0badc0de/720p/init.mp4", "video/mp4", "immutable", b"init"),
        ("0badc0de/720p/seg7.m4s", "video/iso.segment", "immutable", b"segment"),
    ],
)
async def test_objects_have_type_and_cache_policy(
    server, http, stored, hls_server, name, ctype, cache, body
):
    async with http.get(f"{server.hls_url(hls_server)}/hls/{stored}/{name}") as res:
        assert res.status == 200
        assert res.headers["Content-Type"] == ctype
        assert cache in res.headers["Cache-Control"]
        assert await res.read() == body


@pytest.mark.parametrize(
    "name",
    [
        "0badc0de/720p/seg8.m4s",
        "nope.txt",
        "../../etc/passwd",
        "0badc0de/720p/init.mp4.bak",
        "index.m3u8x",
    ],
)
async def test_missing_or_invalid_objects_are_404_envelopes(server, http, stored, hls_server, name):
    # encoded=True: the client sends "../" as written instead of resolving it away (it would
    # otherwise ask for /etc/passwd, which the web app's route fallback answers with its shell).
    url = yarl.URL(f"{server.hls_url(hls_server)}/hls/{stored}/{name}", encoded=True)
    async with http.get(url) as res:
        assert res.status == 404
        body = await res.json()
        assert body["status"] == "error" and body["code"] in ("MEDIA_NOT_FOUND", "NOT_FOUND")


async def test_unknown_stream_is_404(server, http, hls_server):
    base = server.hls_url(hls_server)
    async with http.get(f"{base}/hls/not-a-stream/index.m3u8") as res:
        assert res.status == 404 and (await res.json())["code"] == "MEDIA_NOT_FOUND"
    async with http.get(f"{base}/hls/{uuid.uuid4()}/index.m3u8") as res:
        assert res.status == 404 and (await res.json())["code"] == "MEDIA_NOT_FOUND"
