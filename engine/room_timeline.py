"""Room events on the video timeline: the marks a broadcast's playlists carry as
``EXT-X-DATERANGE`` tags (poll open and close, duel start and end, milestones, trending
moments). Pure logic, no I/O and no media objects.

The API nodes publish a :class:`Mark` on the stream's timeline channel when something happens
in the room; the node packaging the broadcast notes it in its :class:`RoomTimeline`, which
snaps it to the output frame it happened on (the frame grid of `engine.timeline.VideoGrid`)
and hands the playlist renderer the marks that overlap the playlist's window. A mark is
written once per event id and may be completed later (a poll's close adds its end and
result): attributes already written keep their value, as RFC 8216bis 4.4.5.1 asks of two
tags with one ID.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.timeline import VideoGrid

# The DATERANGE CLASS of each kind of mark (reverse-DNS, RFC 8216bis 4.4.5.1).
CLASSES = {
    "poll": "com.teezu.poll",
    "duel": "com.teezu.duel",
    "milestone": "com.teezu.milestone",
    "moment": "com.teezu.moment",
    "sync": "com.teezu.sync",  # a StripSync action picked by the room
}

Value = str | int | float


def timeline_channel(stream_id: uuid.UUID | str) -> str:
    """The pub/sub channel on which a stream's room events travel to its packager."""
    return f"stream:{stream_id}:timeline"


@dataclass(frozen=True, slots=True)
class Mark:
    """One room event on the timeline. ``attrs`` become the tag's ``X-`` attributes."""

    id: str
    kind: str
    start: datetime
    end: datetime | None = None
    attrs: dict[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in CLASSES:
            raise ValueError(f"unknown mark kind {self.kind!r}")
        if self.start.tzinfo is None or (self.end is not None and self.end.tzinfo is None):
            raise ValueError("mark times must be timezone-aware")

    @property
    def klass(self) -> str:
        return CLASSES[self.kind]

    def message(self) -> dict[str, Any]:
        """The mark as a pub/sub message (JSON)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "attrs": dict(self.attrs),
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> Mark:
        """A mark from :meth:`message`'s output; ValueError (or KeyError) on a malformed one."""
        attrs = data.get("attrs") or {}
        if not isinstance(attrs, dict) or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in attrs.values()
        ):
            raise ValueError("mark attributes must be strings or numbers")
        end = data.get("end")
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(end) if end else None,
            attrs={str(k): v for k, v in attrs.items()},
        )


def merge(first: Mark, later: Mark) -> Mark:
    """One event's mark completed by a later one: the start and every attribute already
    written stay; the end and new attributes are added."""
    end = later.end if later.end is not None else first.end
    if end is not None and end < first.start:
        end = first.start
    return Mark(first.id, first.kind, first.start, end, {**later.attrs, **first.attrs})


class RoomTimeline:
    """The marks of one broadcast, snapped to its output frames.

    ``origin`` is the wall-clock time of the broadcast's timeline zero (its first frame);
    ``fps`` the output frame rate. Marks before the origin are moved to it.
    """

    def __init__(self, origin: datetime, fps: int, *, keep: int = 500) -> None:
        self.origin = origin
        self.grid = VideoGrid(fps)
        self.keep = keep
        self._marks: dict[str, Mark] = {}

    def frame_time(self, at: datetime) -> datetime:
        """The start of the output frame ``at`` falls on."""
        seconds = max(0.0, (at - self.origin).total_seconds())
        return self.origin + timedelta(seconds=self.grid.time_of(self.grid.slot_of(seconds)))

    def note(self, mark: Mark) -> bool:
        """Add (or complete) a mark; whether the timeline changed."""
        snapped = Mark(
            mark.id,
            mark.kind,
            self.frame_time(mark.start),
            self.frame_time(mark.end) if mark.end is not None else None,
            dict(mark.attrs),
        )
        known = self._marks.get(mark.id)
        new = snapped if known is None else merge(known, snapped)
        if new == known:
            return False
        self._marks[mark.id] = new
        while len(self._marks) > self.keep:  # the oldest go first (dicts keep insertion order)
            del self._marks[next(iter(self._marks))]
        return True

    def within(self, since: datetime | None = None) -> list[Mark]:
        """The marks still running at ``since`` or starting after it (all when None), by start."""
        marks = [
            m
            for m in self._marks.values()
            if since is None or m.end is None or m.end >= since or m.start >= since
        ]
        return sorted(marks, key=lambda m: (m.start, m.id))

    def seconds(self, mark: Mark) -> float:
        """Where a mark starts on the broadcast's timeline (seconds from its origin)."""
        return (mark.start - self.origin).total_seconds()
