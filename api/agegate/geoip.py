"""Where a viewer is: a GeoIP provider interface, the built-in CIDR table, trusted proxies.

No GeoIP database can be downloaded where this is built, so the built-in provider maps the
CIDR ranges of ``TEEZU_GEOIP_RANGES`` to places. A real deployment plugs in MaxMind GeoIP2
(``geoip2.database.Reader(...).city(ip)`` gives ``country.iso_code`` and
``subdivisions.most_specific.iso_code``) by implementing :class:`GeoIpProvider`: its lookup is
synchronous because the media edge calls it on its hot path, and MaxMind's reader is an
in-memory (mmap) tree, as cheap as this table.

Behind a CDN or a load balancer that already knows the viewer's country, list the proxies in
``TEEZU_GEOIP_TRUSTED_PROXIES``: their ``X-Viewer-Country: US-TX`` header is believed. From
anyone else the header is ignored (a viewer could otherwise pick their own jurisdiction).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Protocol

from api.agegate.places import parse_place

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class GeoIpProvider(Protocol):
    """Maps an IP address to a place (``"GB"``, ``"US-TX"``) or ``""`` when unknown."""

    def lookup(self, ip: str) -> str: ...


class CidrRanges:
    """The built-in provider: configured CIDR ranges, the longest prefix winning."""

    def __init__(self, ranges: Mapping[str, str]) -> None:
        table: list[tuple[IpNetwork, str]] = []
        for cidr, place in ranges.items():
            code = parse_place(place)
            if not code:
                raise ValueError(f"TEEZU_GEOIP_RANGES: {place!r} is not an ISO 3166 place")
            table.append((ipaddress.ip_network(cidr, strict=False), code))
        table.sort(key=lambda item: item[0].prefixlen, reverse=True)
        self._table = table
        self._cache: dict[str, str] = {}

    def lookup(self, ip: str) -> str:
        hit = self._cache.get(ip)
        if hit is not None:
            return hit
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return ""
        place = next((p for net, p in self._table if addr in net), "")
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[ip] = place
        return place


class ViewerLocator:
    """The place of a request: a trusted proxy's header, else the provider's answer."""

    def __init__(self, provider: GeoIpProvider, trusted_proxies: Iterable[str] = ()) -> None:
        self.provider = provider
        self._trusted = [ipaddress.ip_network(c, strict=False) for c in trusted_proxies]
        self._trusted_cache: dict[str, bool] = {}

    def _is_trusted(self, peer: str) -> bool:
        hit = self._trusted_cache.get(peer)
        if hit is None:
            try:
                addr = ipaddress.ip_address(peer)
                hit = any(addr in net for net in self._trusted)
            except ValueError:
                hit = False
            if len(self._trusted_cache) > 100_000:
                self._trusted_cache.clear()
            self._trusted_cache[peer] = hit
        return hit

    def locate(self, peer: str | None, header: str | None) -> str:
        """``peer``: the connection's address; ``header``: its ``X-Viewer-Country`` or None."""
        if not peer:
            return ""
        if header is not None and self._trusted and self._is_trusted(peer):
            return parse_place(header)
        return self.provider.lookup(peer)
