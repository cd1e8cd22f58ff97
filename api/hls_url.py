"""Where players fetch HLS from: the node's LL-HLS edge (``hls/edge.py``) when it runs."""

from __future__ import annotations

from aiohttp import web

from api.keys import EDGE, SETTINGS
from teezu.public_urls import on_port, trusted_host


def hls_base(request: web.Request) -> str:
    """The edge's origin as this caller reaches the node: ``TEEZU_EDGE_PUBLIC_URL``, or the
    request's host with the edge's port when that host is allowed (``Settings.hosts``; else the
    configured base URL's host); "" when there is no edge (the app's own ``/hls/`` serves)."""
    edge = request.app.get(EDGE)
    if edge is None:
        return ""
    settings = request.app[SETTINGS]
    if settings.edge_public_url:
        return settings.edge_public_url.rstrip("/")
    host = trusted_host(request.headers.get("Host"), settings.hosts, settings.base_url)
    return on_port(request.scheme, host, edge.port)
