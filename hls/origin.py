"""The HLS origin: ``GET /hls/{stream_id}/...``.

Live media playlists, parts and just-finished segments come from the broadcast's in-memory
state (blocking reload per RFC 8216bis 6.2.5.2); everything else comes from storage. Playlists
are never cached; segments, parts and init objects live under a per-broadcast run folder and
are cached as immutable.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from hls.access import tokenize_playlist, verify_playback_token
from hls.errors import BadPlaylistRequest, MediaNotFound, PlaylistNotReady
from hls.live import PLAYLIST
from hls.output import (
    CONTENT_TYPES,
    PLAYLIST_CACHE,
    POSTER,
    POSTER_CACHE,
    SEGMENT_CACHE,
    VOD,
    HlsOutput,
)
from hls.storage import Storage


@dataclass
class PlaybackPolicy:
    """Who may fetch a stream's HLS: public streams anyone, others with a signed token.

    ``visibility_of`` (a database lookup) is cached briefly: held LL-HLS requests arrive
    several times a second per viewer and must not each cost a query.
    """

    key: bytes
    visibility_of: Callable[[str], Awaitable[str | None]]  # None: no such stream
    ttl: float = 5.0
    _cache: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    async def visibility(self, stream_id: str) -> str | None:
        now = time.monotonic()
        hit = self._cache.get(stream_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await self.visibility_of(stream_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[stream_id] = (now + self.ttl, value)
        return value

    async def check(self, request: web.Request, stream_id: str) -> str | None:
        """The token to carry into playlists (None for public streams); raises if refused."""
        visibility = await self.visibility(stream_id)
        if visibility is None:
            raise MediaNotFound("no such stream", meta={"streamId": stream_id})
        if visibility == "public":
            return None
        token = request.query.get("token")
        verify_playback_token(self.key, token, stream_id, time.time())
        return token


STORAGE_KEY: web.AppKey[Storage] = web.AppKey("hls_storage", Storage)  # type: ignore[type-abstract]
LIVE_KEY: web.AppKey[dict[str, HlsOutput]] = web.AppKey("hls_live", dict)
POLICY_KEY: web.AppKey[PlaybackPolicy] = web.AppKey("hls_policy", PlaybackPolicy)

_RUN_VOD = re.compile(r"^[0-9a-f]{8}/vod\.m3u8$")
_OBJECT = re.compile(
    r"^(?P<run>[0-9a-f]{8})/(?P<rendition>[a-z0-9]{1,16})/"
    r"(?P<name>index\.m3u8|vod\.m3u8|init\.mp4|seg(?P<seg>\d{1,9})\.m4s|part(?P<pmsn>\d{1,9})\.(?P<pidx>\d{1,3})\.m4s)$"
)


def _headers(name: str) -> dict[str, str]:
    ext = name[name.rfind(".") :]
    return {
        "Content-Type": CONTENT_TYPES[ext],
        "Cache-Control": {".m3u8": PLAYLIST_CACHE, ".jpg": POSTER_CACHE}.get(ext, SEGMENT_CACHE),
        "Access-Control-Allow-Origin": "*",
    }


def _int(query: dict[str, str], key: str) -> int | None:
    raw = query.get(key)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise BadPlaylistRequest(f"{key} must be a non-negative integer", meta={key: raw})
    return int(raw)


async def _from_storage(
    request: web.Request, key: str, name: str, token: str | None = None
) -> web.StreamResponse:
    storage = request.app[STORAGE_KEY]
    headers = _headers(name)
    if not name.endswith((".m3u8", ".jpg")):
        cdn = storage.public_url(key)
        if cdn is not None:
            # Immutable objects are fetched from the CDN; playlists stay at the origin.
            raise web.HTTPFound(cdn, headers={"Cache-Control": SEGMENT_CACHE})
    path = storage.local_path(key)
    if path is not None and not name.endswith((".m3u8", ".jpg")):
        # sendfile from disk; playlists are read whole so they are never seen half-replaced.
        if not await asyncio.to_thread(path.is_file):
            raise MediaNotFound("no such HLS object", meta={"name": name})
        return web.FileResponse(path, headers=headers)
    data = await storage.get(key)
    if data is None:
        raise MediaNotFound("no such HLS object", meta={"name": name})
    if token is not None and name.endswith(".m3u8"):
        data = tokenize_playlist(data.decode(), token).encode()
    return web.Response(body=data, headers=headers)


async def _live_playlist(
    request: web.Request, output: HlsOutput, rendition: str, token: str | None
) -> web.Response:
    live = output.live
    assert live is not None
    msn = _int(request.query, "_HLS_msn")
    part = _int(request.query, "_HLS_part")
    skip = request.query.get("_HLS_skip", "").upper() in ("YES", "V2")
    if part is not None and msn is None:
        raise BadPlaylistRequest("_HLS_part needs _HLS_msn")
    if msn is not None:
        if live.too_far_ahead(rendition, msn):
            raise BadPlaylistRequest(
                "_HLS_msn is more than two segments ahead of the playlist",
                meta={"lastMsn": live.renditions[rendition].last_segment},
            )
        # RFC 8216bis: a blocked request times out after three target durations.
        if not await live.wait_for(rendition, msn, part, 3 * output.segment_duration):
            raise PlaylistNotReady("the requested part did not appear in time", retry_after=1)
    text = live.playlist(rendition, skip=skip)
    if token is not None:
        text = tokenize_playlist(text, token)
    return web.Response(text=text, headers=_headers(PLAYLIST))


async def serve(request: web.Request) -> web.StreamResponse:
    stream_id = request.match_info["stream_id"]
    path = request.match_info["path"]
    try:
        uuid.UUID(stream_id)
    except ValueError:
        raise MediaNotFound("no such stream", meta={"streamId": stream_id}) from None
    token = await request.app[POLICY_KEY].check(request, stream_id)
    if path in (PLAYLIST, POSTER):
        return await _from_storage(request, f"{stream_id}/{path}", path, token)
    if _RUN_VOD.match(path):  # a recorded broadcast's master playlist
        return await _from_storage(request, f"{stream_id}/{path}", VOD, token)
    m = _OBJECT.match(path)
    if not m:
        raise MediaNotFound("no such HLS object", meta={"name": path})
    run, rendition, name = m["run"], m["rendition"], m["name"]
    output = request.app[LIVE_KEY].get(stream_id)
    live = output.live if output is not None and output.run == run else None
    if live is not None and rendition in live.renditions:
        assert output is not None
        if name == PLAYLIST:
            return await _live_playlist(request, output, rendition, token)
        if m["pmsn"] is not None:
            data = await live.wait_for_part(
                rendition, int(m["pmsn"]), int(m["pidx"]), 3 * output.segment_duration
            )
            if data is None:
                raise MediaNotFound("no such part", meta={"name": name})
            return web.Response(body=data, headers=_headers(name))
        if m["seg"] is not None:
            data = live.segment_bytes(rendition, int(m["seg"]))
            if data is not None:
                return web.Response(body=data, headers=_headers(name))
    if m["pmsn"] is not None:
        raise MediaNotFound("parts exist only while a broadcast is live", meta={"name": name})
    return await _from_storage(request, f"{stream_id}/{path}", name, token)


def add_routes(
    app: web.Application, storage: Storage, live: dict[str, HlsOutput], policy: PlaybackPolicy
) -> None:
    app[STORAGE_KEY] = storage
    app[LIVE_KEY] = live
    app[POLICY_KEY] = policy
    app.router.add_get("/hls/{stream_id}/{path:.+}", serve)
