"""The caller-visible errors of the age gate and geo-blocks."""

from __future__ import annotations

from hls.gate import AgeVerificationRequired, GeoBlocked
from teezu.errors import Invalid

__all__ = [
    "AgeVerificationRequired",
    "GeoBlocked",
    "MalformedRegion",
    "UnknownCountry",
    "UnknownRegion",
]


class UnknownCountry(Invalid):
    code = "UNKNOWN_COUNTRY"


class MalformedRegion(Invalid):
    code = "INVALID_REGION"


class UnknownRegion(Invalid):
    code = "UNKNOWN_REGION"
