"""Where players fetch HLS from: the node's LL-HLS edge (``hls/edge.py``) when it runs."""

from __future__ import annotations

from aiohttp import web

from api.keys import EDGE, SETTINGS


def hls_base(request: web.Request) -> str:
    """The edge's origin as this caller reaches the node (``TEEZU_EDGE_PUBLIC_URL``, or the
    request's scheme and host with the edge's port); "" when there is no edge (the app's own
    ``/hls/`` serves)."""
    edge = request.app.get(EDGE)
    if edge is None:
        return ""
    public = request.app[SETTINGS].edge_public_url
    if public:
        return public.rstrip("/")
    return str(request.url.origin().with_port(edge.port))
