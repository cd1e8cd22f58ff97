"""The live state of one broadcast's renditions, in memory, for the origin to serve and block on.

Parts and just-finished segments are served from here the moment they exist (storage writes
happen behind). Blocking playlist reloads (``_HLS_msn``/``_HLS_part``) wait on one future per
(rendition, segment, part), resolved by the publish that completes it, so thousands of held
requests cost one wake-up per part and share one rendered playlist per version: there is no
polling loop per request.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from engine.room_timeline import Mark, RoomTimeline
from hls.packager import Part, Segment
from hls.playlist import (
    DateRange,
    LowLatency,
    PartEntry,
    RenditionReport,
    SegmentEntry,
    part_target,
    render_media_playlist,
)

INIT = "init.mp4"
PLAYLIST = "index.m3u8"


WHOLE_SEGMENT = 1 << 30  # the part index of a wait for a whole segment (sorts after parts)


def daterange_of(mark: Mark) -> DateRange:
    """A room event's mark as the playlist's ``EXT-X-DATERANGE``."""
    return DateRange(mark.id, mark.klass, mark.start, mark.end, tuple(mark.attrs.items()))


def part_name(sequence: int, index: int) -> str:
    return f"part{sequence}.{index}.m4s"


def segment_name(sequence: int) -> str:
    return f"seg{sequence}.m4s"


@dataclass
class RenditionState:
    name: str
    segments: deque[tuple[SegmentEntry, float]] = field(default_factory=deque)  # (entry, start)
    pending: list[PartEntry] = field(default_factory=list)  # parts of the segment in progress
    pending_sequence: int = 0
    parts: dict[tuple[int, int], bytes] = field(default_factory=dict)
    published_at: dict[tuple[int, int], float] = field(default_factory=dict)  # monotonic
    unstored: dict[int, bytes] = field(default_factory=dict)  # segment bytes not yet in storage
    last_segment: int = -1
    last_part: tuple[int, int] = (-1, -1)  # (sequence, index) of the newest part
    # Held requests, by what they wait for: (msn, part), or (msn, WHOLE_SEGMENT). Every request
    # for the same thing shares one future, so a publish touches only the few keys it completes,
    # never the (thousands of) requests held on other renditions or later parts.
    waiting: dict[tuple[int, int], asyncio.Future[None]] = field(default_factory=dict)

    def contains(self, msn: int, part: int | None) -> bool:
        """Whether the playlist already holds segment ``msn`` (or its part ``part``)."""
        if part is None:
            return self.last_segment >= msn
        return self.last_segment > msn or self.last_part >= (msn, part)

    def wake(self, everyone: bool = False) -> None:
        """Release the held requests whose segment or part now exists (all when ``everyone``)."""
        done = [
            key
            for key in self.waiting
            if everyone or self.contains(key[0], None if key[1] == WHOLE_SEGMENT else key[1])
        ]
        for key in done:
            fut = self.waiting.pop(key)
            if not fut.done():
                fut.set_result(None)


class LiveBroadcast:
    """All renditions of one broadcast while it is live (and briefly after it ends)."""

    def __init__(
        self,
        *,
        run: str,
        renditions: list[str],
        segment_duration: float,
        part_duration: float,
        window: int,
        started_at: datetime | None = None,
        fps: int = 30,
    ) -> None:
        self.run = run
        self.segment_duration = segment_duration
        self.part_target = part_target(part_duration)
        self.parts_per_segment = max(1, round(segment_duration / part_duration))
        self.window = window
        self.started_at = started_at or datetime.now(UTC)
        self.timeline = RoomTimeline(self.started_at, fps)  # room events (EXT-X-DATERANGE)
        self.renditions = {name: RenditionState(name) for name in renditions}
        self.ended = False
        self.version = 0
        self._cache: dict[tuple[str, bool], tuple[int, str]] = {}
        self.last_publish_at = 0.0  # monotonic, for measuring delivery delay
        self.renders = 0  # playlist renderings (one per version and variant, not per request)
        self.held = 0  # origin requests blocked in `wait_for` right now (/metrics)

    # --- publishing (event loop) ---------------------------------------------------------

    def publish_part(self, name: str, part: Part) -> None:
        r = self.renditions[name]
        if part.sequence != r.pending_sequence:
            r.pending = []
            r.pending_sequence = part.sequence
        r.pending.append(
            PartEntry(
                part.index, part.duration, part_name(part.sequence, part.index), part.independent
            )
        )
        r.parts[(part.sequence, part.index)] = part.data
        r.published_at[(part.sequence, part.index)] = time.monotonic()
        r.last_part = (part.sequence, part.index)
        self._changed_now()
        r.wake()

    def publish_segment(self, name: str, seg: Segment) -> list[str]:
        """List a finished segment; returns the names of segments that left the window."""
        r = self.renditions[name]
        parts = tuple(r.pending) if r.pending_sequence == seg.sequence else ()
        r.segments.append(
            (
                SegmentEntry(seg.sequence, seg.duration, segment_name(seg.sequence), parts=parts),
                seg.start,
            )
        )
        r.unstored[seg.sequence] = seg.data
        r.last_segment = seg.sequence
        r.pending = []
        r.pending_sequence = seg.sequence + 1
        expired = []
        while len(r.segments) > self.window:
            old, _ = r.segments.popleft()
            expired.append(old.uri)
        # Part bytes are kept only while parts are listed (about three target durations).
        keep_from = seg.sequence - 3
        for key in [k for k in r.parts if k[0] < keep_from]:
            del r.parts[key]
            r.published_at.pop(key, None)
        self._changed_now()
        r.wake()
        return expired

    def note(self, mark: Mark) -> None:
        """A room event for the playlists (a new mark, or one completed: a poll's close)."""
        if self.timeline.note(mark):
            self.version += 1  # the next playlist request renders it

    def mark_stored(self, name: str, sequence: int) -> None:
        self.renditions[name].unstored.pop(sequence, None)

    def end(self) -> None:
        self.ended = True
        for r in self.renditions.values():
            r.pending = []
        self._changed_now()
        for r in self.renditions.values():
            r.wake(everyone=True)

    def _changed_now(self) -> None:
        self.version += 1
        self.last_publish_at = time.monotonic()

    # --- reading (origin) ----------------------------------------------------------------

    def too_far_ahead(self, name: str, msn: int) -> bool:
        """RFC 8216bis 6.2.5.2: more than two segments past the last one listed is a 400."""
        return msn > self.renditions[name].last_segment + 2

    def waiter(self, name: str, msn: int, part: int | None) -> asyncio.Future[None] | None:
        """The future every request for segment ``msn`` (part ``part``) of ``name`` shares.

        None when there is nothing to wait for (it exists, or the broadcast ended). The future
        is resolved by the publish that completes it (or by :meth:`end`); callers must never
        cancel it, since others wait on it too.
        """
        r = self.renditions[name]
        if self.ended or r.contains(msn, part):
            return None
        key = (msn, WHOLE_SEGMENT if part is None else part)
        fut = r.waiting.get(key)
        if fut is None:
            fut = r.waiting[key] = asyncio.get_running_loop().create_future()
        return fut

    def part_is_ahead(self, name: str, msn: int, index: int) -> bool:
        """Whether part ``index`` of segment ``msn`` is still to come (a preload hint's target)."""
        r = self.renditions[name]
        return (msn, index) not in r.parts and r.last_part < (msn, index) and not self.ended

    async def wait_for(self, name: str, msn: int, part: int | None, hold_for: float) -> bool:
        """Hold until rendition ``name`` has segment ``msn`` (part ``part``), or time out."""
        fut = self.waiter(name, msn, part)
        if fut is None:
            return True
        self.held += 1
        try:
            # shield: a timed-out request must not cancel the future the others wait on.
            await asyncio.wait_for(asyncio.shield(fut), hold_for)
        except TimeoutError:
            return False
        finally:
            self.held -= 1
        return True

    async def wait_for_part(self, name: str, msn: int, index: int, hold_for: float) -> bytes | None:
        """A part's bytes, waiting for it if it is the one a preload hint announced."""
        if self.part_is_ahead(name, msn, index):
            await self.wait_for(name, msn, index, hold_for)
        return self.renditions[name].parts.get((msn, index))

    def part_age(self, name: str, msn: int, index: int) -> float | None:
        """Seconds since part ``index`` of segment ``msn`` was published (None: unknown)."""
        published = self.renditions[name].published_at.get((msn, index))
        return None if published is None else time.monotonic() - published

    def segment_bytes(self, name: str, sequence: int) -> bytes | None:
        return self.renditions[name].unstored.get(sequence)

    def playlist(self, name: str, *, skip: bool = False) -> str:
        """The rendition's current media playlist (cached per publish)."""
        cached = self._cache.get((name, skip))
        if cached is not None and cached[0] == self.version:
            return cached[1]
        text = self._render(name, skip)
        self._cache[(name, skip)] = (self.version, text)
        return text

    def _render(self, name: str, skip: bool) -> str:
        self.renders += 1
        r = self.renditions[name]
        entries = [e for e, _ in r.segments]
        first_time = None
        if r.segments:
            first_time = self.started_at + timedelta(seconds=r.segments[0][1])
        elif r.pending:
            first_time = self.started_at
        reports = tuple(
            RenditionReport(
                f"../{other.name}/{PLAYLIST}",
                other.last_part[0] if other.last_part[0] >= 0 else max(other.last_segment, 0),
                other.last_part[1] if other.last_part[0] >= 0 else None,
            )
            for other in self.renditions.values()
            if other.name != name
        )
        hint_msn, hint_index = r.pending_sequence, r.pending[-1].index + 1 if r.pending else 0
        if hint_index >= self.parts_per_segment:
            hint_msn, hint_index = hint_msn + 1, 0
        ll = LowLatency(
            part_target=self.part_target,
            pending=tuple(r.pending),
            preload_hint=part_name(hint_msn, hint_index),
            reports=reports,
        )
        marks = self.timeline.within(first_time) if first_time is not None else []
        return render_media_playlist(
            entries,
            init_uri=INIT,
            segment_duration=self.segment_duration,
            ended=self.ended,
            low_latency=ll,
            skip=skip,
            first_segment_time=first_time,
            dateranges=[daterange_of(m) for m in marks],
        )
