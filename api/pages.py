"""Serves the web app (``web/dist``, built by ``scripts/setup.sh``).

- ``/assets/*``: Vite's content-hashed files, cached for good (``immutable``);
- ``/sw.js``, ``/manifest.webmanifest``, ``/icons/*``: revalidated (a new service worker must
  reach browsers on their next visit);
- every other ``GET`` that is not the API, media, Socket.IO or a static file is a client-side
  route: ``index.html``, never cached, so a deploy is picked up at the next navigation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from teezu.errors import NotFound, Unavailable

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DIST = WEB_DIR / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
# Paths the app never answers with index.html: they belong to the API, media and realtime.
RESERVED = r"(?!api/|hls/|whip/|whep/|socket\.io/|assets/)"


class PageNotFound(NotFound):
    code = "PAGE_NOT_FOUND"


def _dist_file(folder: Path, name: str) -> Path:
    """The file ``name`` in ``folder`` (under ``web/dist``), or PageNotFound: a name that
    leaves its folder (``..``, even percent-encoded) is no file of it."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise PageNotFound(f"no such file: {name}")
    return path


async def asset(request: web.Request) -> web.StreamResponse:
    path = await asyncio.to_thread(_dist_file, DIST / "assets", request.match_info["name"])
    return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE})


async def shell_file(request: web.Request) -> web.StreamResponse:
    """The service worker, the manifest and the icons: always revalidated."""
    folder, _, name = request.path.lstrip("/").rpartition("/")
    path = await asyncio.to_thread(_dist_file, DIST / folder if folder else DIST, name)
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


async def app_shell(request: web.Request) -> web.StreamResponse:
    index = DIST / "index.html"
    if not await asyncio.to_thread(index.is_file):
        raise Unavailable("the web app is not built: run `make setup` (npm run build in web/)")
    return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    """Call last: the client-side route fallback matches every path no other route took."""
    app.router.add_get("/assets/{name:[^/]+}", asset)
    app.router.add_get("/sw.js", shell_file)
    app.router.add_get("/manifest.webmanifest", shell_file)
    app.router.add_get("/icons/{name:[^/]+}", shell_file)
    app.router.add_get("/{route:" + RESERVED + ".*}", app_shell)
