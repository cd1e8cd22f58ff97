"""The mood strip's arithmetic: votes per mood over a sliding window, summed across nodes.

Pure: no clock, no I/O. Each node counts the votes it accepted in one-second buckets
(`MoodWindow`); what it tells the other nodes is its *own* totals over the window (a
`Partial`), never deltas, so a node that starts following a room late, or misses a message,
is right again at the next one. A room's distribution is the sum of the fresh partials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The product's eight moods (the streams' mood colours, migration 0080), in strip order.
MOODS: tuple[str, ...] = (
    "calm",
    "playful",
    "flirty",
    "intense",
    "chill",
    "dreamy",
    "energetic",
    "mysterious",
)
INDEX = {m: i for i, m in enumerate(MOODS)}

Counts = tuple[int, ...]  # one count per mood, in `MOODS` order
ZERO: Counts = (0,) * len(MOODS)


def add(a: Counts, b: Iterable[int]) -> Counts:
    return tuple(x + y for x, y in zip(a, b, strict=True))


@dataclass(slots=True)
class MoodWindow:
    """One node's accepted votes in one room, in whole-second buckets over ``window`` s."""

    window: int
    buckets: dict[int, list[int]] = field(default_factory=dict)
    votes: int = 0  # every vote this node ever accepted in the room (never shrinks)

    def vote(self, mood: str, second: int) -> int:
        """Count one vote in the bucket of ``second``; returns the room's running count here."""
        bucket = self.buckets.get(second)
        if bucket is None:
            bucket = self.buckets[second] = [0] * len(MOODS)
        bucket[INDEX[mood]] += 1
        self.votes += 1
        return self.votes

    def totals(self, second: int) -> Counts:
        """Votes per mood in the window ending with ``second`` (older buckets are dropped)."""
        oldest = second - self.window + 1
        for s in [s for s in self.buckets if s < oldest]:
            del self.buckets[s]
        total = ZERO
        for s, bucket in self.buckets.items():
            if s <= second:
                total = add(total, bucket)
        return total

    @property
    def empty(self) -> bool:
        return not self.buckets


@dataclass(frozen=True, slots=True)
class Partial:
    """A node's totals in a room, as last heard, and when (the hearer's clock, seconds)."""

    counts: Counts
    votes: int
    heard_at: float


def room_totals(partials: Mapping[str, Partial], now: float, *, stale_after: float) -> Partial:
    """The room's distribution: the sum of the partials heard within ``stale_after`` s (a node
    that died stops being counted once its last totals would have expired anyway)."""
    counts, votes = ZERO, 0
    for p in partials.values():
        if now - p.heard_at <= stale_after:
            counts = add(counts, p.counts)
            votes += p.votes
    return Partial(counts, votes, now)


def should_publish(
    counts: Counts, last: Counts | None, *, since_last: float, heartbeat: float, asked: bool
) -> bool:
    """Does a node tell the others its totals this tick? When they changed, when another node
    asked (it just started following the room), and now and then while non-zero (so the
    others can tell a live node's steady totals from a dead node's)."""
    if asked or counts != last:
        return last is not None or any(counts)  # nothing to say if it never had a vote
    return any(counts) and since_last >= heartbeat


def wire(counts: Counts, votes: int) -> dict[str, Any]:
    """``{counts: {mood: n}, total, votes}``: the strip as clients get it."""
    return {
        "counts": dict(zip(MOODS, counts, strict=True)),
        "total": sum(counts),
        "votes": votes,
    }


def from_wire(counts: Any) -> Counts | None:
    """A partial's counts off the channel, or None when malformed."""
    if (
        not isinstance(counts, list)
        or len(counts) != len(MOODS)
        or not all(type(c) is int and c >= 0 for c in counts)
    ):
        return None
    return tuple(counts)


def minute_of(second: int) -> int:
    return second - second % 60
