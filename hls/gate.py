"""The age gate and geo-blocks as the media servers apply them. Pure: no I/O.

A stream's :class:`StreamAccess` says what a request must carry: nothing (an *open* stream:
public, not age-gated, no geo-blocks), or a playback token whose claims (the viewer's age
level and jurisdiction, checked by the API when it signed the token, :mod:`hls.access`) meet
the stream's rules *as they are now*. So a rule or block changed after a token was issued
applies within the policy's cache time, not at the token's expiry.

Places are ISO 3166 codes: a country (``"GB"``) or a country and its subdivision
(``"US-TX"``); ``""`` is an unknown jurisdiction (no GeoIP match), which gets the default
rule and matches no geo-block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from teezu.errors import Forbidden, TeezuError

# What a viewer has shown, weakest first; a rule names the weakest level it accepts.
LEVELS = ("none", "self_declared", "verified")
# Not a level a viewer reaches: the stream's creator and staff, exempt from the viewer gate.
EXEMPT = "exempt"
DEFAULT = ("*", "")  # the rules' fallback row: (country, region)


class AgeVerificationRequired(Forbidden):
    code = "AGE_VERIFICATION_REQUIRED"


class GeoBlocked(TeezuError):
    status = 451
    code = "GEO_BLOCKED"


def meets(level: str, requirement: str) -> bool:
    """Does a viewer at ``level`` satisfy ``requirement``?"""
    if level == EXEMPT or requirement == "none":
        return True
    if level not in LEVELS or requirement not in LEVELS:
        return False  # an unknown word never lets anyone through
    return LEVELS.index(level) >= LEVELS.index(requirement)


def _strictness(requirement: str) -> int:
    """An unknown word ranks strictest (as in `meets`, it never lets anyone through)."""
    return LEVELS.index(requirement) if requirement in LEVELS else len(LEVELS)


def split_place(place: str) -> tuple[str, str]:
    """``"US-TX"`` -> ``("US", "TX")``; ``"GB"`` -> ``("GB", "")``; ``""`` -> ``("", "")``."""
    country, _, region = place.partition("-")
    return country, region


@dataclass(frozen=True)
class AgeRules:
    """Requirement per (country, region); a region's own row wins over its country's, which
    wins over the default row (``("*", "")``; ``"none"`` if even that is missing)."""

    rules: Mapping[tuple[str, str], str] = field(default_factory=lambda: MappingProxyType({}))

    def requirement(self, place: str) -> str:
        """The rule of ``place``. A country without its region (GeoIP databases answer
        countries only) gets the strictest of its country's rule and its regions' rules: a
        viewer in Texas must not pass as a viewer somewhere in the US."""
        country, region = split_place(place)
        r = self.rules
        if not country:
            return r.get(DEFAULT, "none")
        if region and (country, region) in r:
            return r[(country, region)]
        own = r.get((country, ""), r.get(DEFAULT, "none"))
        if region:
            return own
        regional = [req for (c, reg), req in r.items() if c == country and reg]
        return max([own, *regional], key=_strictness)


def is_blocked(blocked: frozenset[str], place: str) -> bool:
    """Is ``place`` inside one of ``blocked`` (whole countries or single regions)?"""
    if not place or not blocked:
        return False
    return place in blocked or split_place(place)[0] in blocked


@dataclass(frozen=True)
class StreamAccess:
    """What the media servers need to know about a stream to answer a request for it.

    ``floor`` and ``revoked`` say which playback tokens a change of who may watch has voided
    (their epoch, :mod:`hls.access`): every token signed before ``floor`` (the visibility
    changed, a ticket show started or ended), and a viewer's tokens signed before
    ``revoked[viewer]`` (that viewer's subscription ended, they were banned, ...).
    """

    visibility: str
    adult: bool = False  # the age gate applies (adult rating or marked explicit, gate on)
    blocked: frozenset[str] = frozenset()  # the creator's geo-blocks
    rules: AgeRules = AgeRules()
    floor: int = 0
    revoked: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def voids(self, viewer_id: str, epoch: int) -> bool:
        """Was a token of ``viewer_id`` signed at ``epoch`` voided by a later change?"""
        if epoch < self.floor:
            return True
        revoked = self.revoked
        return bool(revoked) and epoch < revoked.get(viewer_id, 0)

    @property
    def open(self) -> bool:
        """Anyone may fetch it without a token (the edge's fast path serves only these)."""
        return self.visibility == "public" and not self.adult and not self.blocked


def check_viewer(access: StreamAccess, *, level: str, place: str) -> None:
    """Raise :class:`GeoBlocked` or :class:`AgeVerificationRequired` if the viewer (at
    ``level``, in ``place``) may not watch; the geo-block is checked first (no level helps)."""
    if level != EXEMPT and is_blocked(access.blocked, place):
        country, region = split_place(place)
        raise GeoBlocked(
            "the creator does not make this stream available where you are",
            meta={"country": country, "region": region or None},
        )
    if access.adult:
        requirement = access.rules.requirement(place)
        if not meets(level, requirement):
            raise AgeVerificationRequired(
                "this stream is for adults: " + _HOW[requirement],
                meta=gate_meta(requirement, level, place),
            )


_HOW = {
    "self_declared": "confirm you are 18 or older",
    "verified": "verify your age",
    "none": "",
}


def gate_meta(requirement: str, level: str, place: str) -> dict[str, object]:
    """What a refused viewer needs to do, for the error envelope's ``meta``."""
    country, region = split_place(place)
    steps = []
    if requirement == "self_declared":
        steps.append("POST /api/v1/me/age-declaration")
    elif requirement == "verified":
        steps.append("POST /api/v1/verification/records")
    return {
        "requirement": requirement,
        "current": level,
        "country": country or None,
        "region": region or None,
        "next": steps,
    }
