"""``GET /api/v1/content/feed``: posts and live streams from the creators a member follows or
subscribes to, then recommendations, in the order and with the visibility of
``api.feed.ranking`` (pure), paged with an opaque cursor.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from api.agegate.gate import AGE_GATE
from api.auth.rbac import Permission
from api.feed import ranking, store
from api.keys import POOL
from api.posts.access import viewer_gate
from api.routing import Api, Call, Page
from api.schema import Input, Output, utc_timestamp
from hls.gate import meets, split_place
from teezu.errors import Invalid

api = Api("feed")

MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")


class FeedQuery(Input):
    limit: int = Field(default=20, ge=1, le=50)
    cursor: str | None = Field(default=None, max_length=200)
    moods: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[a-z]+(,[a-z]+)*$",
        description="Comma-separated moods the member is in the mood for (live streams in "
        f"them come first among recommendations): {', '.join(MOODS)}",
    )


class FeedPost(Output):
    kind: Literal["image", "video"]
    caption: str
    width: int
    height: int
    duration: float | None
    preview_url: str = Field(description="JPEG preview; the blurred one unless sharp")
    media_url: str | None = Field(description="The sharp media, when the item is sharp")
    likes: int
    comments: int
    liked_by_me: bool


class FeedStream(Output):
    title: str
    mood: str | None
    tags: list[str]
    watch_url: str
    poster_url: str


class FeedItem(Output):
    kind: Literal["post", "stream"]
    id: uuid.UUID
    creator_id: uuid.UUID
    creator_handle: str
    created_at: datetime
    reason: Literal["following", "subscribed", "recommended"]
    visibility: Literal["blurred", "sharp"]
    post: FeedPost | None = None
    stream: FeedStream | None = None


def encode_cursor(cursor: tuple[int, datetime, uuid.UUID]) -> str:
    t, at, key = cursor
    raw = f"{t}|{at.isoformat()}|{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, datetime, uuid.UUID] | None:
    """The position a cursor names; a cursor this API did not make is 422 on query.cursor."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        t, at, key = raw.split("|")
        tier = int(t)
        if tier not in ranking.TIERS or not t.isascii():
            raise ValueError(t)
        return tier, utc_timestamp(datetime.fromisoformat(at)), uuid.UUID(key)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise Invalid(
            "invalid cursor",
            meta={"errors": [{"field": "query.cursor", "message": "not a cursor from this feed"}]},
        ) from None


def _moods(raw: str | None) -> frozenset[str]:
    moods = frozenset(raw.split(",")) if raw else frozenset()
    unknown = sorted(moods - set(MOODS))
    if unknown:
        raise Invalid(
            "unknown mood",
            meta={"errors": [{"field": "query.moods", "message": f"unknown: {unknown[0]}"}]},
        )
    return moods


async def viewer_of(call: Call[None, FeedQuery]) -> ranking.Viewer:
    """The caller as the ranking sees them: relations, the age gate's verdict, their place."""
    p = call.principal
    gate = await viewer_gate(call.app, call.request, p)
    if gate.requirement is None:
        sharp_adult, sharp_explicit = True, p.can(Permission.CONTENT_VIEW)
    else:
        sharp_adult = sharp_explicit = meets(gate.level, gate.requirement)
    place = call.app[AGE_GATE].place(call.request)
    places: frozenset[str] = frozenset()
    if place:
        country, region = split_place(place)
        places = frozenset({country, place}) if region else frozenset({country})
    follows = subs = blocks = frozenset[uuid.UUID]()
    if p.user_id is not None:
        follows, subs, blocks = await store.relations(call.app[POOL], p.user_id)
    return ranking.Viewer(
        user_id=p.user_id,
        follows=follows,
        subscriptions=subs,
        blocks=blocks,
        staff=p.can(Permission.MODERATE_ALL),
        sharp_adult=sharp_adult,
        sharp_explicit=sharp_explicit,
        places=places,
        moods=_moods(call.query.moods),
    )


@api.route(
    "GET",
    "/api/v1/content/feed",
    summary="My feed: followed and subscribed creators' live streams and posts first, then "
    "recommendations (cursor-paginated); items I may not see sharp come blurred",
    query=FeedQuery,
    response=FeedItem,
    paginated=True,
)
async def get_feed(call: Call[None, FeedQuery]) -> Page[FeedItem]:
    q = call.query
    cursor = decode_cursor(q.cursor)
    viewer = await viewer_of(call)
    db = call.app[POOL]
    ranked, more = await store.page(db, viewer, cursor, q.limit)
    post_ids = [r.item.id for r in ranked if r.item.kind == "post"]
    stream_ids = [r.item.id for r in ranked if r.item.kind == "stream"]
    posts, streams = await store.details(db, post_ids, stream_ids)
    counts = await store.post_counts(db, post_ids, viewer.user_id)
    out: list[FeedItem] = []
    for r in ranked:
        c = r.item
        sharp = r.visibility == "sharp"
        base = FeedItem(
            kind=c.kind,
            id=c.id,
            creator_id=c.creator_id,
            creator_handle="",
            created_at=c.created_at,
            reason=r.reason,
            visibility="sharp" if sharp else "blurred",
        )
        if c.kind == "post":
            row = posts.get(c.id)
            if row is None:  # deleted between the two queries
                continue
            likes, comments, mine = counts.get(c.id, (0, 0, False))
            url = f"/api/v1/posts/{c.id}"
            base.creator_handle = row["handle"]
            base.post = FeedPost(
                kind=row["kind"],
                caption=row["caption"],
                width=row["width"],
                height=row["height"],
                duration=row["duration"],
                preview_url=f"{url}/preview" if sharp else f"{url}/preview?variant=blurred",
                media_url=f"{url}/media" if sharp else None,
                likes=likes,
                comments=comments,
                liked_by_me=mine,
            )
        else:
            srow = streams.get(c.id)
            if srow is None:
                continue
            base.creator_handle = srow["handle"]
            base.stream = FeedStream(
                title=srow["title"],
                mood=srow["mood"],
                tags=list(srow["tags"]),
                watch_url=f"/watch/{c.id}",
                poster_url=f"/api/v1/streams/{c.id}/poster",
            )
        out.append(base)
    return Page(out, encode_cursor(more) if more else None)
