"""What an ``/hls/{stream_id}/{path}`` request asks for. Pure functions, shared by both servers.

The aiohttp origin (``hls.origin``) and the LL-HLS edge (``hls.edge``) answer the same URLs with
the same semantics; everything about *reading* a request (which object a path names, the
blocking-reload query, the headers each kind of object is sent with) lives here once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from hls.errors import BadPlaylistRequest, MediaNotFound, PlaylistNotReady
from hls.live import PLAYLIST
from hls.output import CONTENT_TYPES, PLAYLIST_CACHE, POSTER, POSTER_CACHE, SEGMENT_CACHE, VOD

_RUN_VOD = re.compile(r"^[0-9a-f]{8}/vod\.m3u8$")
_OBJECT = re.compile(
    r"^(?P<run>[0-9a-f]{8})/(?P<rendition>[a-z0-9]{1,16})/"
    r"(?P<name>index\.m3u8|vod\.m3u8|init\.mp4|seg(?P<seg>\d{1,9})\.m4s|part(?P<pmsn>\d{1,9})\.(?P<pidx>\d{1,3})\.m4s)$"
)


@dataclass(frozen=True, slots=True)
class HlsObject:
    """One object of a broadcast run: ``{run}/{rendition}/{name}``."""

    run: str
    rendition: str
    name: str
    segment: int | None = None  # seg{N}.m4s
    part: tuple[int, int] | None = None  # part{M}.{I}.m4s


@dataclass(frozen=True, slots=True)
class StreamLevel:
    """An object at the stream's level (master playlist, poster) or a run's VOD master."""

    key: str  # storage key
    name: str  # file name (decides the headers)


def check_stream_id(stream_id: str) -> None:
    """Stream ids are UUIDs; anything else is a 404 before any lookup."""
    try:
        uuid.UUID(stream_id)
    except ValueError:
        raise MediaNotFound("no such stream", meta={"streamId": stream_id}) from None


def parse_object_path(stream_id: str, path: str) -> HlsObject | StreamLevel:
    """What ``path`` (below ``/hls/{stream_id}/``) names; raises :class:`MediaNotFound`."""
    if path in (PLAYLIST, POSTER):
        return StreamLevel(f"{stream_id}/{path}", path)
    if _RUN_VOD.match(path):  # a recorded broadcast's master playlist
        return StreamLevel(f"{stream_id}/{path}", VOD)
    m = _OBJECT.match(path)
    if not m:
        raise MediaNotFound("no such HLS object", meta={"name": path})
    return HlsObject(
        m["run"],
        m["rendition"],
        m["name"],
        int(m["seg"]) if m["seg"] is not None else None,
        (int(m["pmsn"]), int(m["pidx"])) if m["pmsn"] is not None else None,
    )


def object_headers(name: str) -> dict[str, str]:
    """Content type, cache policy and CORS of an HLS object, by its file name."""
    ext = name[name.rfind(".") :]
    return {
        "Content-Type": CONTENT_TYPES[ext],
        "Cache-Control": {".m3u8": PLAYLIST_CACHE, ".jpg": POSTER_CACHE}.get(ext, SEGMENT_CACHE),
        "Access-Control-Allow-Origin": "*",
    }


@dataclass(frozen=True, slots=True)
class PlaylistQuery:
    """A media playlist request's LL-HLS directives (RFC 8216bis 6.2.5)."""

    msn: int | None  # _HLS_msn: hold until this segment (or its part) exists
    part: int | None  # _HLS_part
    skip: bool  # _HLS_skip=YES|v2: a delta update


def _int(query: Mapping[str, str], key: str) -> int | None:
    raw = query.get(key)
    if raw is None:
        return None
    # ASCII digits only: str.isdigit() is also true for '²' or '٣', which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise BadPlaylistRequest(f"{key} must be a non-negative integer", meta={key: raw})
    return int(raw)


def parse_playlist_query(query: Mapping[str, str]) -> PlaylistQuery:
    """The blocking-reload directives of a query; raises :class:`BadPlaylistRequest`."""
    msn = _int(query, "_HLS_msn")
    part = _int(query, "_HLS_part")
    if part is not None and msn is None:
        raise BadPlaylistRequest("_HLS_part needs _HLS_msn")
    skip = query.get("_HLS_skip", "").upper() in ("YES", "V2")
    return PlaylistQuery(msn, part, skip)


def too_far_ahead_error(last_msn: int) -> BadPlaylistRequest:
    return BadPlaylistRequest(
        "_HLS_msn is more than two segments ahead of the playlist", meta={"lastMsn": last_msn}
    )


def not_ready_error() -> PlaylistNotReady:
    return PlaylistNotReady("the requested part did not appear in time", retry_after=1)


def hold_limit(segment_duration: float) -> float:
    """RFC 8216bis: a blocked request times out after three target durations."""
    return 3 * segment_duration
