"""Absolute URLs we hand out (the API's ``hlsUrl``, the pages' CSP, the edge's redirects to the
app): built from configured public URLs, and from a request's ``Host`` header only when it
names an allowed host (``Settings.hosts``). Pure.

The Host header is the client's to write: echoing it would let anyone make our responses point
players, CSP sources or redirects at a server of their choosing (and, behind a shared cache,
serve that to others). An unknown host is not refused, it is just not used: the configured
base URL's host takes its place.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlsplit

# A host name or an IPv4/bracketed IPv6 address, then an optional port.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$")


def host_name(header: str | None) -> str | None:
    """The host part of a ``Host`` header (lower case), or None if malformed."""
    m = _HOST.match(header or "")
    return m.group(1).lower() if m else None


def configured_host(base_url: str) -> str:
    """The host of a configured base URL (IPv6 in brackets)."""
    netloc = urlsplit(base_url).netloc.rpartition("@")[2]
    if netloc.startswith("["):
        return netloc[: netloc.index("]") + 1]
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def trusted_host(header: str | None, allowed: Collection[str], base_url: str) -> str:
    """The request's host if it is allowed, else the configured base URL's host."""
    name = host_name(header)
    return name if name is not None and name in allowed else configured_host(base_url)


def on_port(scheme: str, host: str, port: int) -> str:
    """``scheme://host:port`` (no trailing slash)."""
    return f"{scheme}://{host}:{port}"
