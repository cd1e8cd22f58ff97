"""The feed's order and visibility: pure functions, no I/O (``api.feed.store`` fetches the
candidates, these decide what a member sees and in which order).

Visibility of one item for one viewer (`visibility`), the same rules as ``api.posts.access``
and the stream routes, in one place for the feed:

* ``hidden``: the viewer's own items; creators they blocked or who blocked them; creators who
  are suspended or banned; posts not published and streams not live; items geo-blocked where
  the viewer is; ``followers`` items of creators they do not follow and ``subscribers`` items
  of creators they do not subscribe to. Staff (``MODERATE_ALL``) skip the audience and
  geo-block checks, never the block and standing checks (the feed is not a moderation tool).
* ``blurred``: visible, but adult-rated or explicit while the viewer does not meet the age
  gate (or, with the gate off, explicit for a viewer without ``CONTENT_VIEW``), and ticketed
  streams (a teaser: the ticket is bought in the room).
* ``sharp``: everything else.

Order (`sort_key`): by `tier`, then newest first, then id. Tiers put what the member chose
first: live streams of creators they follow or subscribe to, then those creators' posts; then
recommendations: live streams in one of the member's moods, other live streams, then recent
posts. Because the key only uses values fixed when the item is made (tier inputs aside), the
feed pages with a keyset cursor ``(tier, created_at, id)``; the AI work may refine the
recommendation tiers later without touching the visibility rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Kind = Literal["post", "stream"]
Visibility = Literal["hidden", "blurred", "sharp"]
Reason = Literal["following", "subscribed", "recommended"]

# The tiers, in feed order.
FOLLOWED_LIVE, FOLLOWED_POSTS, MOOD_LIVE, OTHER_LIVE, RECENT_POSTS = range(5)
TIERS = (FOLLOWED_LIVE, FOLLOWED_POSTS, MOOD_LIVE, OTHER_LIVE, RECENT_POSTS)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A post or a live stream the store found, with what the rules need to know about it."""

    kind: Kind
    id: uuid.UUID
    creator_id: uuid.UUID
    created_at: datetime
    audience: str  # posts: public/followers/subscribers; streams also 'ticketed'
    rating: str  # 'sfw' or 'adult'
    explicit: bool  # posts the scan found explicit
    state: str  # posts: their status ('published'); streams: their state ('live')
    creator_status: str  # 'active', 'suspended', 'banned'
    geo_blocked: frozenset[str] = frozenset()  # places (country, or country-region)
    mood: str | None = None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The member asking (or an anonymous visitor: ``user_id`` None, every set empty)."""

    user_id: uuid.UUID | None
    follows: frozenset[uuid.UUID] = frozenset()
    subscriptions: frozenset[uuid.UUID] = frozenset()
    blocks: frozenset[uuid.UUID] = frozenset()  # either way round
    staff: bool = False
    sharp_adult: bool = False  # may see adult-rated items sharp (the age gate's verdict)
    sharp_explicit: bool = False  # may see explicit posts sharp
    places: frozenset[str] = frozenset()  # the viewer's country and country-region
    moods: frozenset[str] = frozenset()


def visibility(item: Candidate, viewer: Viewer) -> Visibility:
    """Whether ``viewer`` sees ``item`` in the feed, and how (see the module's rules)."""
    if item.creator_id == viewer.user_id or item.creator_id in viewer.blocks:
        return "hidden"
    if item.creator_status != "active":
        return "hidden"
    if item.state != ("published" if item.kind == "post" else "live"):
        return "hidden"
    if not viewer.staff:
        if item.geo_blocked & viewer.places:
            return "hidden"
        if item.audience == "followers" and item.creator_id not in viewer.follows:
            return "hidden"
        if item.audience == "subscribers" and item.creator_id not in viewer.subscriptions:
            return "hidden"
        if item.audience not in ("public", "followers", "subscribers", "ticketed"):
            return "hidden"  # an audience this code does not know is nobody's
        if item.audience == "ticketed":
            return "blurred"
    if item.explicit and not (viewer.staff or viewer.sharp_explicit):
        return "blurred"
    if item.rating != "sfw" and not (viewer.staff or viewer.sharp_adult):
        return "blurred"
    return "sharp"


def reason(item: Candidate, viewer: Viewer) -> Reason:
    if item.creator_id in viewer.subscriptions:
        return "subscribed"
    if item.creator_id in viewer.follows:
        return "following"
    return "recommended"


def tier(item: Candidate, viewer: Viewer) -> int:
    chosen = item.creator_id in viewer.follows or item.creator_id in viewer.subscriptions
    if item.kind == "stream":
        if chosen:
            return FOLLOWED_LIVE
        return MOOD_LIVE if item.mood is not None and item.mood in viewer.moods else OTHER_LIVE
    return FOLLOWED_POSTS if chosen else RECENT_POSTS


SortKey = tuple[int, float, str]


def sort_key(item: Candidate, viewer: Viewer) -> SortKey:
    """Ascending order of the feed: tier, newest first, then id (newest id first, as the
    keyset cursor compares it)."""
    return (tier(item, viewer), -item.created_at.timestamp(), _desc(item.id))


def _desc(key: uuid.UUID) -> str:
    """A string that sorts ascending when ids sort descending."""
    return f"{(1 << 128) - 1 - key.int:032x}"


@dataclass(frozen=True, slots=True)
class Ranked:
    item: Candidate
    tier: int
    visibility: Visibility
    reason: Reason


def rank(items: Iterable[Candidate], viewer: Viewer) -> list[Ranked]:
    """The visible items in feed order, each once (the first of duplicate ids wins)."""
    seen: set[tuple[str, uuid.UUID]] = set()
    out: list[tuple[SortKey, Ranked]] = []
    for item in items:
        if (item.kind, item.id) in seen:
            continue
        seen.add((item.kind, item.id))
        shown = visibility(item, viewer)
        if shown == "hidden":
            continue
        out.append(
            (sort_key(item, viewer), Ranked(item, tier(item, viewer), shown, reason(item, viewer)))
        )
    out.sort(key=lambda pair: pair[0])
    return [r for _, r in out]


def after(item: Candidate, viewer: Viewer, cursor: tuple[int, datetime, uuid.UUID]) -> bool:
    """Whether ``item`` comes strictly after the cursor's position in feed order."""
    t, at, key = cursor
    mine = tier(item, viewer)
    if mine != t:
        return mine > t
    return (item.created_at, item.id) < (at, key)
