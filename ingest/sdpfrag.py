"""Trickle ICE SDP fragments (``application/trickle-ice-sdpfrag``, RFC 8840) as used by WHIP
and WHEP ``PATCH`` requests (RFC 9725 §4.3). Pure text functions.

A fragment carries the sender's ICE credentials (``a=ice-ufrag`` / ``a=ice-pwd``, at session
or media level), candidates inside ``m=`` sections identified by ``a=mid``, and optionally
``a=end-of-candidates``. New credentials mean an ICE restart; the same (or none) mean more
candidates for the current ICE session.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from aioice import Candidate

from ingest.errors import InvalidIceFragment

MEDIA_TYPE = "application/trickle-ice-sdpfrag"

_UFRAG = re.compile(r"^[A-Za-z0-9+/]{4,256}$")
_PWD = re.compile(r"^[A-Za-z0-9+/]{22,256}$")
_MLINE = re.compile(r"^m=[a-z]+ \d+ [A-Za-z0-9/]+( \S+)*$")
_LINE = re.compile(r"^[a-z]=\S")


@dataclass(frozen=True)
class FragmentCandidate:
    mid: str | None  # None: given before any m= line (the BUNDLE transport)
    candidate: Candidate


@dataclass(frozen=True)
class IceFragment:
    ufrag: str | None
    pwd: str | None
    candidates: tuple[FragmentCandidate, ...] = ()
    end_of_candidates: bool = False
    mids: tuple[str, ...] = field(default=())


def parse_candidate(value: str) -> Candidate:
    """``a=candidate:`` value -> aioice candidate; :class:`InvalidIceFragment` if malformed."""
    bits = value.split()
    try:
        if len(bits) < 8 or bits[6] != "typ":
            raise ValueError("expected 'foundation component transport priority host port typ x'")
        candidate = Candidate.from_sdp(value)
        if not 1 <= candidate.component <= 256 or not 0 <= candidate.port <= 65535:
            raise ValueError("component or port out of range")
        if not candidate.host.endswith(".local"):
            ipaddress.ip_address(candidate.host)
    except (ValueError, IndexError) as exc:
        raise InvalidIceFragment(
            f"malformed candidate: {exc}", meta={"candidate": value[:200]}
        ) from None
    return candidate


def parse_sdpfrag(text: str) -> IceFragment:
    """Parse a trickle-ice-sdpfrag body; raises :class:`InvalidIceFragment` when malformed."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise InvalidIceFragment("empty SDP fragment")
    creds: dict[str, set[str]] = {"ice-ufrag": set(), "ice-pwd": set()}
    candidates: list[FragmentCandidate] = []
    mids: list[str] = []
    end = False
    in_media = False
    mid: str | None = None
    for number, line in enumerate(lines, 1):
        if not _LINE.match(line):
            raise InvalidIceFragment("not an SDP line", meta={"line": number, "text": line[:200]})
        if line.startswith("m="):
            if not _MLINE.match(line):
                raise InvalidIceFragment(
                    "malformed m= line", meta={"line": number, "text": line[:200]}
                )
            in_media, mid = True, None
            continue
        if not line.startswith("a="):
            # A fragment has session attributes and m= sections only (RFC 8840 §9).
            raise InvalidIceFragment(
                "unexpected line in an SDP fragment", meta={"line": number, "text": line[:200]}
            )
        name, _, value = line[2:].partition(":")
        if name in creds:
            creds[name].add(value)
        elif name == "mid":
            if not in_media or not value:
                raise InvalidIceFragment("a=mid outside an m= section", meta={"line": number})
            mid = value
            mids.append(value)
        elif name == "candidate":
            candidates.append(FragmentCandidate(mid if in_media else None, parse_candidate(value)))
        elif name == "end-of-candidates":
            end = True
        # Anything else (ice-options, group:BUNDLE, ice-lite, ...) carries nothing we act on.
    ufrags, pwds = creds["ice-ufrag"], creds["ice-pwd"]
    if len(ufrags) > 1 or len(pwds) > 1:
        raise InvalidIceFragment("a fragment carries one ICE ufrag and password")
    ufrag = next(iter(ufrags), None)
    pwd = next(iter(pwds), None)
    if (ufrag is None) != (pwd is None):
        raise InvalidIceFragment("a=ice-ufrag and a=ice-pwd come together")
    if ufrag is not None and not _UFRAG.match(ufrag):
        raise InvalidIceFragment("a=ice-ufrag is not 4-256 ice-chars")
    if pwd is not None and not _PWD.match(pwd):
        raise InvalidIceFragment("a=ice-pwd is not 22-256 ice-chars")
    if not candidates and not end and ufrag is None:
        raise InvalidIceFragment("the fragment has no candidates, credentials or end-of-candidates")
    return IceFragment(ufrag, pwd, tuple(candidates), end, tuple(mids))


def render_sdpfrag(
    *,
    ufrag: str,
    pwd: str,
    candidates: list[Candidate],
    mline: str,
    mid: str,
    bundle: list[str],
    ice_options: str | None = None,
) -> str:
    """Our side of an ICE restart (the ``200 OK`` body): credentials and all candidates."""
    lines = []
    if ice_options:
        lines.append(f"a=ice-options:{ice_options}")
    if bundle:
        lines.append("a=group:BUNDLE " + " ".join(bundle))
    lines += [mline, f"a=mid:{mid}", f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}"]
    lines += [f"a=candidate:{c.to_sdp()}" for c in candidates]
    lines.append("a=end-of-candidates")
    return "\r\n".join(lines) + "\r\n"
