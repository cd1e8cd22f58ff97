"""ISO 3166 places: a country (``"GB"``) or a country's subdivision (``"US-TX"``). Pure.

Codes are checked against pycountry's copy of ISO 3166-1 and 3166-2, so a rule or a geo-block
can only name a place that exists (and that a GeoIP database can answer with).
Call :func:`warm` once off the event loop: pycountry reads its tables on first use.
"""

from __future__ import annotations

import re

import pycountry

from api.agegate.errors import MalformedRegion, UnknownCountry, UnknownRegion

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_REGION = re.compile(r"^[A-Za-z0-9]{1,3}$")


def warm() -> None:
    """Load pycountry's tables (tens of ms of file reading: do it in a thread at start-up)."""
    pycountry.countries.get(alpha_2="NL")
    pycountry.subdivisions.get(code="NL-NH")


def country_code(raw: str) -> str:
    """The upper-case ISO 3166-1 alpha-2 code; :class:`UnknownCountry` otherwise."""
    code = raw.strip().upper()
    if not _COUNTRY.match(code) or pycountry.countries.get(alpha_2=code) is None:
        raise UnknownCountry(
            f"{raw!r} is not an ISO 3166-1 alpha-2 country code", meta={"country": raw}
        )
    return code


def region_code(country: str, raw: str) -> str:
    """The subdivision part (``"TX"``) of an ISO 3166-2 code of ``country``."""
    code = raw.strip().upper()
    if not _REGION.match(code):
        raise MalformedRegion(
            "a region is the 1-3 letters or digits after the dash of an ISO 3166-2 code "
            "(TX of US-TX)",
            meta={"region": raw},
        )
    if pycountry.subdivisions.get(code=f"{country}-{code}") is None:
        raise UnknownRegion(
            f"{country}-{code} is not an ISO 3166-2 subdivision", meta={"region": raw}
        )
    return code


def place_code(raw: str) -> str:
    """``"us-tx"`` -> ``"US-TX"``, ``"nl"`` -> ``"NL"``, checked; raises on anything else."""
    country_raw, dash, region_raw = raw.strip().partition("-")
    country = country_code(country_raw)
    if not dash:
        return country
    return f"{country}-{region_code(country, region_raw)}"


def parse_place(raw: str | None) -> str:
    """Like :func:`place_code` but never raises: ``""`` (unknown) for anything invalid.

    For values from outside the API's validation (a proxy header, a GeoIP table).
    """
    if not raw or len(raw) > 10:
        return ""
    try:
        return place_code(raw)
    except (UnknownCountry, MalformedRegion, UnknownRegion):
        return ""
