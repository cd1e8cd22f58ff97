"""Serves the pages in ``web/`` (studio, watch, index) and their static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from teezu.errors import NotFound, Unavailable

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
HLS_JS = WEB_DIR / "node_modules" / "hls.js" / "dist" / "hls.min.js"
SOCKET_IO_JS = WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


class PageNotFound(NotFound):
    code = "PAGE_NOT_FOUND"


def _page(name: str):
    path = WEB_DIR / name

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def _vendor(path: Path, name: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        if not path.is_file():  # noqa: ASYNC240 - one stat, and only on a broken install
            raise Unavailable(f"{name} is not installed: run `make setup` (npm install in web/)")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})

    return handler


hls_js = _vendor(HLS_JS, "hls.js")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/studio/{stream_id}", _page("studio.html"))
    app.router.add_get("/watch/{stream_id}", _page("watch.html"))
    app.router.add_get("/static/vendor/hls.min.js", hls_js)
    app.router.add_get("/static/vendor/socket.io.min.js", _vendor(SOCKET_IO_JS, "socket.io-client"))
    app.router.add_static("/static/", WEB_DIR / "static", append_version=False)
