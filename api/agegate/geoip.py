"""Where a viewer is: a GeoIP provider interface, the offline country database, the CIDR
table, trusted proxies.

The default provider (`RegistryCountries`) is ``iptocc`` (PyPI, MIT or Apache-2.0): the
regional internet registries' allocation data compiled into the wheel, so nothing is
downloaded at run time. It answers the country where an address block is registered (usually
where it is used; a multinational's or a VPN's block may be elsewhere) and never a region.
Ranges configured in ``TEEZU_GEOIP_RANGES`` (`CidrRanges`) are asked first: they can name a
region (``US-TX``) and cover private or test ranges the registries do not. A deployment with
MaxMind GeoIP2 implements :class:`GeoIpProvider` instead (``geoip2.database.Reader(...)
.city(ip)`` gives ``country.iso_code`` and ``subdivisions.most_specific.iso_code``). Lookups
are synchronous because the media edge calls them on its hot path; both are in-memory (well
under a microsecond here).

When only the country is known, the age gate applies the strictest rule among the country's
own and its regions' (`hls.gate.AgeRules.requirement`).

Behind a CDN or a load balancer that already knows the viewer's country, list the proxies in
``TEEZU_GEOIP_TRUSTED_PROXIES``: their ``X-Viewer-Country: US-TX`` header is believed. From
anyone else the header is ignored (a viewer could otherwise pick their own jurisdiction).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Protocol

import iptocc

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


class RegistryCountries:
    """The offline country database (``iptocc``): ``"GB"`` or ``""`` (private, reserved,
    unallocated or malformed addresses)."""

    def lookup(self, ip: str) -> str:
        return iptocc.country_code(ip) or ""


class LayeredGeoIp:
    """The configured ranges first (they may name regions), then the database."""

    def __init__(self, ranges: CidrRanges, database: GeoIpProvider | None) -> None:
        self.ranges = ranges
        self.database = database
        self._codes: dict[str, str] = {}  # the database's codes, checked once each

    def lookup(self, ip: str) -> str:
        place = self.ranges.lookup(ip)
        if place or self.database is None:
            return place
        raw = self.database.lookup(ip)
        code = self._codes.get(raw)
        if code is None:
            code = self._codes[raw] = parse_place(raw) if len(self._codes) < 1000 else ""
        return code


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
