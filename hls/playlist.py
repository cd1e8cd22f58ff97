"""HLS playlist rendering (RFC 8216). Pure functions from segment lists to text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentEntry:
    """A segment as listed in a media playlist."""

    sequence: int
    duration: float
    uri: str
    discontinuity: bool = False


def target_duration(durations: Sequence[float], configured: float) -> int:
    """EXT-X-TARGETDURATION: an integer no segment duration, rounded to nearest, exceeds."""
    longest = max([configured, *durations])
    # RFC 8216 4.3.3.1: each EXTINF rounded to the nearest integer must be <= the target.
    return max(1, math.floor(longest + 0.5))


def render_media_playlist(
    segments: Sequence[SegmentEntry],
    *,
    init_uri: str,
    segment_duration: float,
    ended: bool,
) -> str:
    """A live (sliding window) or ended media playlist with an fMP4 initialization map."""
    first = segments[0].sequence if segments else 0
    durations = [s.duration for s in segments]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target_duration(durations, segment_duration)}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{init_uri}"',
    ]
    for i, seg in enumerate(segments):
        if i and seg.sequence != segments[i - 1].sequence + 1:
            raise ValueError("segment sequence numbers must be consecutive")
        if seg.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXTINF:{seg.duration:.5f},")
        lines.append(seg.uri)
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
