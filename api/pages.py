"""Serves the web app (``web/dist``, built by ``scripts/setup.sh``) and the studio page.

- ``/assets/*``: Vite's content-hashed files, cached for good (``immutable``);
- ``/sw.js``, ``/manifest.webmanifest``, ``/icons/*``: revalidated (a new service worker must
  reach browsers on their next visit);
- every other ``GET`` that is not the API, media, Socket.IO or a static file is a client-side
  route: ``index.html``, never cached, so a deploy is picked up at the next navigation.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from teezu.errors import NotFound, Unavailable

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DIST = WEB_DIR / "dist"
HLS_JS = WEB_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"
SOCKET_IO_JS = WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"
# Paths the app never answers with index.html: they belong to the API, media and realtime.
RESERVED = r"(?!api/|hls/|whip/|whep/|socket\.io/|static/|assets/)"


class PageNotFound(NotFound):
    code = "PAGE_NOT_FOUND"


def _page(name: str):  # type: ignore[no-untyped-def]
    path = WEB_DIR / name

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def _vendor(path: Path, name: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.StreamResponse:
        if not path.is_file():  # noqa: ASYNC240 - one stat, and only on a broken install
            raise Unavailable(f"{name} is not installed: run `make setup` (npm install in web/)")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    return handler


hls_js = _vendor(HLS_JS, "hls.js")


def _dist_file(relative: str) -> Path:
    """The file under ``web/dist`` for a request path, or PageNotFound (no escaping dist)."""
    path = (DIST / relative).resolve()
    if not path.is_relative_to(DIST.resolve()) or not path.is_file():
        raise PageNotFound(f"no such file: /{relative}")
    return path


async def asset(request: web.Request) -> web.StreamResponse:
    path = _dist_file("assets/" + request.match_info["name"])
    return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE})


async def shell_file(request: web.Request) -> web.StreamResponse:
    path = _dist_file(request.path.lstrip("/"))
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


async def app_shell(request: web.Request) -> web.StreamResponse:
    index = DIST / "index.html"
    if not index.is_file():  # noqa: ASYNC240 - one stat, and only on a broken install
        raise Unavailable("the web app is not built: run `make setup` (npm run build in web/)")
    return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    """Call last: the client-side route fallback matches every path no other route took."""
    app.router.add_get("/studio/{stream_id}", _page("studio.html"))
    app.router.add_get("/static/vendor/hls.min.js", hls_js)
    app.router.add_get("/static/vendor/socket.io.min.js", _vendor(SOCKET_IO_JS, "socket.io-client"))
    app.router.add_static("/static/", WEB_DIR / "static", append_version=False)
    app.router.add_get("/assets/{name:[^/]+}", asset)
    app.router.add_get("/sw.js", shell_file)
    app.router.add_get("/manifest.webmanifest", shell_file)
    app.router.add_get("/icons/{name:[^/]+}", shell_file)
    app.router.add_get("/{route:" + RESERVED + ".*}", app_shell)
