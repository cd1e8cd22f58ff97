"""Signed, expiring playback tokens, and carrying them into playlists. Pure functions.

A token binds a viewer to one stream until an expiry time::

    <stream tag>.<viewer id>.<expires, unix s>.<claims>.<epoch>.<HMAC-SHA256, base64url>

The stream tag (first 8 hex digits of the stream id) only lets a token for another stream be
told apart from a forged one; the HMAC covers the full stream id, the viewer, the expiry, the
claims and the epoch.

* The claims carry what the API checked for the age gate and geo-blocks (:mod:`hls.gate`):
  the viewer's age level (one letter: ``n`` none, ``s`` self-declared, ``v`` verified, ``x``
  exempt: the stream's creator or staff) followed by the jurisdiction it was issued for
  (``GB``, ``US-TX``, or nothing when unknown).
* The epoch is the stream's access epoch when the token was signed: the media servers refuse
  a token older than the stream's floor or than its viewer's revocation (a change of who may
  watch, see :class:`hls.gate.StreamAccess`), so revoked access does not outlive the change.
* No token lives longer than :data:`MAX_LIFETIME`: the media servers refuse one that expires
  later, whoever signed it (the revocations they hold need only cover that long).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote

from teezu.errors import Forbidden

MAX_LIFETIME = 3600  # seconds a token may be valid for, at most
_SKEW = 60  # seconds of clock difference between the signing and the checking node
_VIEWER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CLAIMS = re.compile(r"^[nsvx](?:[A-Z]{2}(?:-[A-Z0-9]{1,3})?)?$")
_LEVEL_OF = {"n": "none", "s": "self_declared", "v": "verified", "x": "exempt"}
_LETTER_OF = {v: k for k, v in _LEVEL_OF.items()}
# URIs in a playlist: attribute values (URI="...") and lines that are not tags.
_URI_ATTR = re.compile(r'URI="([^"]*)"')


class PlaybackDenied(Forbidden):
    code = "PLAYBACK_DENIED"


class TokenRequired(PlaybackDenied):
    code = "PLAYBACK_TOKEN_REQUIRED"


class TokenExpired(PlaybackDenied):
    code = "PLAYBACK_TOKEN_EXPIRED"


class TokenInvalid(PlaybackDenied):
    code = "PLAYBACK_TOKEN_INVALID"


class TokenForOtherStream(PlaybackDenied):
    code = "PLAYBACK_TOKEN_WRONG_STREAM"


class TokenRevoked(PlaybackDenied):
    """Who may watch changed after the token was signed: the player asks the API again."""

    code = "PLAYBACK_TOKEN_REVOKED"


@dataclass(frozen=True)
class PlaybackGrant:
    stream_id: str
    viewer_id: str
    expires: int
    age: str = "none"  # hls.gate.LEVELS, or "exempt"
    place: str = ""  # the jurisdiction the API checked ("" unknown)
    epoch: int = 0  # the stream's access epoch when it was signed


def _tag(stream_id: str) -> str:
    return stream_id.replace("-", "")[:8].lower()


def _mac(key: bytes, stream_id: str, viewer_id: str, expires: int, claims: str, epoch: int) -> str:
    signed = f"{stream_id}|{viewer_id}|{expires}|{claims}|{epoch}"
    digest = hmac.new(key, signed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_playback_token(
    key: bytes,
    stream_id: str,
    viewer_id: str,
    expires: int,
    *,
    epoch: int,
    age: str = "none",
    place: str = "",
) -> str:
    """A token letting ``viewer_id`` play ``stream_id`` until ``expires`` (unix seconds).

    ``epoch``: the stream's access epoch, read before deciding that the viewer may watch (a
    change committed after that read then revokes the token). ``age`` and ``place``: the
    age-gate claims the API checked.
    """
    if not key:
        raise ValueError("an empty signing key would make every token forgeable")
    if not _VIEWER.match(viewer_id):
        raise ValueError("viewer id must be 1-64 characters of A-Z a-z 0-9 _ -")
    if epoch < 0:
        raise ValueError("an access epoch is never negative")
    claims = _LETTER_OF[age] + place
    if not _CLAIMS.match(claims):
        raise ValueError(f"malformed claims {claims!r}")
    mac = _mac(key, stream_id, viewer_id, expires, claims, epoch)
    return f"{_tag(stream_id)}.{viewer_id}.{expires}.{claims}.{epoch}.{mac}"


def _digits(raw: str, most: int) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= most


def verify_playback_token(
    key: bytes, token: str | None, stream_id: str, now: float
) -> PlaybackGrant:
    """Check a token for ``stream_id``; raises a :class:`PlaybackDenied` subclass if refused.

    Only the token itself: whether its epoch is still current is the caller's question
    (:meth:`hls.origin.PlaybackPolicy.admit`).
    """
    if not token:
        raise TokenRequired("this stream needs a playback token")
    parts = token.split(".")
    if (
        len(parts) != 6
        or not _digits(parts[2], 12)
        or not _digits(parts[4], 18)
        or not _VIEWER.match(parts[1])
        or not _CLAIMS.match(parts[3])
        or not parts[5].isascii()  # compare_digest raises on non-ASCII text
    ):
        raise TokenInvalid("malformed playback token")
    tag, viewer, claims, mac = parts[0], parts[1], parts[3], parts[5]
    expires, epoch = int(parts[2]), int(parts[4])
    if tag != _tag(stream_id):
        raise TokenForOtherStream("this playback token is for another stream")
    if not hmac.compare_digest(mac, _mac(key, stream_id, viewer, expires, claims, epoch)):
        raise TokenInvalid("playback token signature does not match")
    if expires <= now:
        raise TokenExpired("playback token expired", meta={"expiredAt": expires})
    if expires > now + MAX_LIFETIME + _SKEW:
        raise TokenInvalid(
            "playback token lives too long", meta={"maxLifetimeSeconds": MAX_LIFETIME}
        )
    return PlaybackGrant(stream_id, viewer, expires, _LEVEL_OF[claims[0]], claims[1:], epoch)


def with_token(uri: str, token: str) -> str:
    sep = "&" if "?" in uri else "?"
    return f"{uri}{sep}token={quote(token, safe='')}"


def tokenize_playlist(text: str, token: str) -> str:
    """Carry ``token`` to every URI a playlist names (segments, parts, hints, reports, map)."""
    out = []
    for line in text.split("\n"):
        if line.startswith("#"):
            line = _URI_ATTR.sub(lambda m: f'URI="{with_token(m.group(1), token)}"', line)
        elif line:
            line = with_token(line, token)
        out.append(line)
    return "\n".join(out)
