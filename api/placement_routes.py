"""The front door's placement question (docs/cluster.md): which ingest node holds a stream.

nginx asks with an ``auth_request`` subrequest before it proxies ``/whip/``, ``/whep/`` and
``/hls/`` (``teezu/frontdoor.py``), and routes on the answer's ``X-Teezu-Node``: the node's
name, ``origin`` (no live node holds the stream: the API nodes serve what storage has, or answer
404), or ``unavailable`` (a publisher arrived and no ingest node is healthy: nginx answers 503).
The route is internal: the front door refuses ``/internal/`` from outside.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from api.keys import PLACEMENT

NODE_HEADER = "X-Teezu-Node"


async def locate(request: web.Request) -> web.Response:
    """``X-Teezu-Stream``: the stream; ``X-Teezu-Publish: 1`` with ``X-Teezu-Method: POST``
    for a WHIP offer (places it). Always 200 (``auth_request`` lets 2xx through): the answer is
    the header."""
    try:
        stream_id = str(uuid.UUID(request.headers.get("X-Teezu-Stream", "")))
    except ValueError:
        return web.Response(status=200, headers={NODE_HEADER: "origin"})
    placement = request.app.get(PLACEMENT)
    if placement is None:  # no Redis: one node, nothing to place
        return web.Response(status=200, headers={NODE_HEADER: "origin"})
    publish = request.headers.get("X-Teezu-Publish") == "1"
    if publish and request.headers.get("X-Teezu-Method") == "POST":
        node = await placement.place(stream_id)
        answer = node or "unavailable"
    else:
        answer = await placement.locate(stream_id) or "origin"
    return web.Response(status=200, headers={NODE_HEADER: answer})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/internal/placement", locate)
