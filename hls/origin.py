"""The HLS origin: ``GET /hls/{stream_id}/...`` served from storage.

Playlists change every segment and are never cached; segment and init objects are written
once under a per-broadcast run folder and are cached as immutable.
"""

from __future__ import annotations

import asyncio
import re
import uuid

from aiohttp import web

from hls.errors import MediaNotFound
from hls.output import CONTENT_TYPES, PLAYLIST
from hls.storage import Storage

STORAGE_KEY: web.AppKey[Storage] = web.AppKey("hls_storage", Storage)  # type: ignore[type-abstract]

_OBJECT = re.compile(r"^(index\.m3u8|[0-9a-f]{8}/(init\.mp4|seg\d{1,9}\.m4s))$")
PLAYLIST_CACHE = "no-cache, no-store, must-revalidate"
SEGMENT_CACHE = "public, max-age=31536000, immutable"


async def serve(request: web.Request) -> web.StreamResponse:
    stream_id = request.match_info["stream_id"]
    name = request.match_info["name"]
    try:
        uuid.UUID(stream_id)
    except ValueError:
        raise MediaNotFound("no such stream", meta={"streamId": stream_id}) from None
    if not _OBJECT.match(name):
        raise MediaNotFound("no such HLS object", meta={"name": name})
    storage = request.app[STORAGE_KEY]
    key = f"{stream_id}/{name}"
    ext = name[name.rfind(".") :]
    headers = {
        "Content-Type": CONTENT_TYPES[ext],
        "Cache-Control": PLAYLIST_CACHE if name == PLAYLIST else SEGMENT_CACHE,
        "Access-Control-Allow-Origin": "*",
    }
    path = storage.local_path(key)
    if path is not None and name != PLAYLIST:
        # sendfile from disk; the playlist is read whole so it is never seen half-replaced.
        if not await asyncio.to_thread(path.is_file):
            raise MediaNotFound("no such HLS object", meta={"name": name})
        return web.FileResponse(path, headers=headers)
    data = await storage.get(key)
    if data is None:
        raise MediaNotFound("no such HLS object", meta={"name": name})
    return web.Response(body=data, headers=headers)


def add_routes(app: web.Application, storage: Storage) -> None:
    app[STORAGE_KEY] = storage
    app.router.add_get("/hls/{stream_id}/{name:.+}", serve)
