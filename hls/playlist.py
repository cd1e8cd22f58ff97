"""HLS playlist rendering (RFC 8216bis, with Apple's Low-Latency HLS). Pure: lists in, text out."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PartEntry:
    """A partial segment as listed in a media playlist."""

    index: int
    duration: float
    uri: str
    independent: bool


@dataclass(frozen=True)
class SegmentEntry:
    """A segment as listed in a media playlist (with its parts near the live edge)."""

    sequence: int
    duration: float
    uri: str
    discontinuity: bool = False
    parts: tuple[PartEntry, ...] = ()


@dataclass(frozen=True)
class DateRange:
    """An ``EXT-X-DATERANGE`` tag (RFC 8216bis 4.4.5.1): a room event on the timeline.

    ``attrs`` are client attributes (names starting ``X-``): strings are quoted, numbers not.
    """

    id: str
    klass: str
    start: datetime
    end: datetime | None = None
    attrs: tuple[tuple[str, str | int | float], ...] = ()


_ATTR_NAME = re.compile(r"^X-[A-Z0-9-]+$")


def _quoted(value: str) -> str:
    # A quoted-string holds no double quote, CR or LF (RFC 8216bis 4.2).
    return '"' + re.sub(r'["\r\n]', "'", value) + '"'


def daterange_line(d: DateRange) -> str:
    parts = [
        f"ID={_quoted(d.id)}",
        f"CLASS={_quoted(d.klass)}",
        f"START-DATE={_quoted(_pdt(d.start))}",
    ]
    if d.end is not None:
        parts.append(f"END-DATE={_quoted(_pdt(max(d.end, d.start)))}")
    for name, value in d.attrs:
        if not _ATTR_NAME.match(name):
            raise ValueError(f"not a client attribute name: {name!r}")
        if isinstance(value, str):
            parts.append(f"{name}={_quoted(value)}")
        elif isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"{name}: not a decimal number")
        else:
            parts.append(f"{name}={value}")
    return "#EXT-X-DATERANGE:" + ",".join(parts)


@dataclass(frozen=True)
class RenditionReport:
    uri: str
    last_msn: int
    last_part: int | None


@dataclass(frozen=True)
class LowLatency:
    """The LL-HLS additions to a live media playlist."""

    part_target: float
    pending: tuple[PartEntry, ...]  # parts of the segment in progress (sequence = last + 1)
    preload_hint: str | None  # URI of the next part, requested ahead by players
    reports: tuple[RenditionReport, ...] = ()

    @property
    def part_hold_back(self) -> float:
        # RFC 8216bis 4.4.3.8: at least three part target durations.
        return round(3 * self.part_target + 0.0005, 3)


def target_duration(durations: Sequence[float], configured: float) -> int:
    """EXT-X-TARGETDURATION: an integer no segment duration, rounded to nearest, exceeds."""
    longest = max([configured, *durations])
    # RFC 8216 4.3.3.1: each EXTINF rounded to the nearest integer must be <= the target.
    return max(1, math.floor(longest + 0.5))


def part_target(duration: float) -> float:
    """EXT-X-PART-INF PART-TARGET: no part may be longer, so round the nominal value up."""
    return math.ceil(duration * 100_000) / 100_000


def can_skip_until(target: int) -> float:
    # RFC 8216bis 4.4.3.8: CAN-SKIP-UNTIL is at least six target durations.
    return 6.0 * target


def skipped_count(segments: Sequence[SegmentEntry], skip_until: float) -> int:
    """How many oldest segments a delta update leaves out (those ending before the skip horizon)."""
    total = sum(s.duration for s in segments)
    skipped, elapsed = 0, 0.0
    for seg in segments:
        if total - elapsed - seg.duration < skip_until:
            break
        elapsed += seg.duration
        skipped += 1
    return skipped


def _part_line(p: PartEntry) -> str:
    independent = ",INDEPENDENT=YES" if p.independent else ""
    return f'#EXT-X-PART:DURATION={p.duration:.5f},URI="{p.uri}"{independent}'


def _pdt(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_media_playlist(
    segments: Sequence[SegmentEntry],
    *,
    init_uri: str,
    segment_duration: float,
    ended: bool,
    low_latency: LowLatency | None = None,
    skip: bool = False,
    first_segment_time: datetime | None = None,
    parts_window: float | None = None,
    dateranges: Sequence[DateRange] = (),
) -> str:
    """A media playlist: live (sliding window, LL-HLS when ``low_latency``) or ended.

    ``skip`` renders a delta update (EXT-X-SKIP) for ``_HLS_skip=YES`` requests.
    ``first_segment_time`` is the wall-clock time of ``segments[0]`` (EXT-X-PROGRAM-DATE-TIME).
    Parts are listed for segments within ``parts_window`` seconds of the end (default: three
    target durations, after which RFC 8216bis says they should go).
    ``dateranges`` (room events, needing ``first_segment_time``) are each written before the
    segment they start in (before the pending parts when they start after the last segment;
    before the first listed segment when they started earlier).
    """
    for i in range(1, len(segments)):
        if segments[i].sequence != segments[i - 1].sequence + 1:
            raise ValueError("segment sequence numbers must be consecutive")
    durations = [s.duration for s in segments]
    target = target_duration(durations, segment_duration)
    first = segments[0].sequence if segments else 0
    ll = low_latency if not ended else None
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{9 if ll else 7}", f"#EXT-X-TARGETDURATION:{target}"]
    skip_until = can_skip_until(target)
    if ll:
        lines.append(
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
            f"CAN-SKIP-UNTIL={skip_until:.1f},PART-HOLD-BACK={ll.part_hold_back:.3f}"
        )
        lines.append(f"#EXT-X-PART-INF:PART-TARGET={ll.part_target:.5f}")
    lines += [
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{init_uri}"',
    ]
    skipped = skipped_count(segments, skip_until) if (skip and ll) else 0
    if skipped:
        lines.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}")
    window = parts_window if parts_window is not None else 3 * target
    remaining = sum(durations)
    elapsed = sum(durations[:skipped])
    if dateranges and first_segment_time is None:
        raise ValueError("EXT-X-DATERANGE needs EXT-X-PROGRAM-DATE-TIME (first_segment_time)")
    ranges = sorted(dateranges, key=lambda d: d.start)
    seg_end = first_segment_time + timedelta(seconds=elapsed) if first_segment_time else None
    for i, seg in enumerate(segments):
        if i < skipped:
            remaining -= seg.duration
            continue
        if seg.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if first_segment_time is not None and i == skipped:
            lines.append(
                f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(first_segment_time + timedelta(seconds=elapsed))}"
            )
        if seg_end is not None:
            seg_end += timedelta(seconds=seg.duration)
            while ranges and ranges[0].start < seg_end:
                lines.append(daterange_line(ranges.pop(0)))
        if ll and remaining <= window:
            lines += [_part_line(p) for p in seg.parts]
        lines.append(f"#EXTINF:{seg.duration:.5f},")
        lines.append(seg.uri)
        remaining -= seg.duration
    if ll:
        if first_segment_time is not None and not segments and ll.pending:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_pdt(first_segment_time)}")
        if segments or ll.pending:
            lines += [daterange_line(d) for d in ranges]
            ranges = []
        lines += [_part_line(p) for p in ll.pending]
        if ll.preload_hint:
            lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{ll.preload_hint}"')
        for r in ll.reports:
            last_part = f",LAST-PART={r.last_part}" if r.last_part is not None else ""
            lines.append(f'#EXT-X-RENDITION-REPORT:URI="{r.uri}",LAST-MSN={r.last_msn}{last_part}')
    if ranges and segments:  # after the last segment, with nothing pending
        lines[-2:-2] = [daterange_line(d) for d in ranges]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Variant:
    """One rendition in the master playlist."""

    uri: str
    bandwidth: int  # peak bits/s, audio included
    average_bandwidth: int
    width: int
    height: int
    codecs: str
    frame_rate: float


def render_master_playlist(variants: Sequence[Variant]) -> str:
    """The multivariant playlist listing the ladder, tallest first."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.bandwidth},AVERAGE-BANDWIDTH={v.average_bandwidth},"
            f'RESOLUTION={v.width}x{v.height},CODECS="{v.codecs}",FRAME-RATE={v.frame_rate:.3f}'
        )
        lines.append(v.uri)
    return "\n".join(lines) + "\n"
