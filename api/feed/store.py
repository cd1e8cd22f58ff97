"""SQL for the feed: the viewer's relations, and each tier's candidates in keyset order.

The queries leave out most of what `api.feed.ranking.visibility` hides (so pages stay full),
but the pure function has the last word: every candidate goes through it, and the page only
holds what it shows.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from api.feed import ranking
from api.feed.ranking import Candidate, Viewer
from teezu.db import Db

Position = tuple[datetime, uuid.UUID]


async def relations(
    db: Db, user_id: uuid.UUID
) -> tuple[frozenset[uuid.UUID], frozenset[uuid.UUID], frozenset[uuid.UUID]]:
    """(creators followed, creators subscribed to, accounts blocked either way)."""
    row = await db.fetchrow(
        "SELECT "
        " ARRAY(SELECT creator_id FROM follows WHERE follower_id = $1) AS follows, "
        " ARRAY(SELECT creator_id FROM subscriptions WHERE subscriber_id = $1 "
        "       AND state IN ('active', 'grace') AND access_until > now()) AS subs, "
        " ARRAY(SELECT blocked_id FROM user_blocks WHERE blocker_id = $1 "
        "       UNION SELECT blocker_id FROM user_blocks WHERE blocked_id = $1) AS blocks",
        user_id,
    )
    assert row is not None
    return frozenset(row["follows"]), frozenset(row["subs"]), frozenset(row["blocks"])


_POSTS = (
    "SELECT p.id, p.creator_id, p.created_at, p.audience, p.rating, p.explicit, p.status, "
    "u.status AS creator_status FROM posts p JOIN users u ON u.id = p.creator_id "
    "WHERE p.status = 'published' AND p.expires_at IS NULL AND u.status = 'active' "
    "AND NOT (p.creator_id = ANY($1::uuid[])) AND p.creator_id IS DISTINCT FROM $2 "
    "AND ($3::timestamptz IS NULL OR (p.created_at, p.id) < ($3, $4)) "
)

_STREAMS = (
    "SELECT s.id, s.creator_id, s.created_at, s.visibility, s.state, s.mood, "
    "coalesce((SELECT x.rating FROM stream_safety x WHERE x.stream_id = s.id), 'adult') AS rating, "
    "ARRAY(SELECT g.place FROM stream_geo_blocks g WHERE g.stream_id = s.id) AS geo, "
    "u.status AS creator_status FROM streams s JOIN users u ON u.id = s.creator_id "
    "WHERE s.state = 'live' AND u.status = 'active' "
    "AND NOT (s.creator_id = ANY($1::uuid[])) AND s.creator_id IS DISTINCT FROM $2 "
    "AND ($3::timestamptz IS NULL OR (s.created_at, s.id) < ($3, $4)) "
)


def _post(r: Any) -> Candidate:
    return Candidate(
        kind="post",
        id=r["id"],
        creator_id=r["creator_id"],
        created_at=r["created_at"],
        audience=r["audience"],
        rating=r["rating"],
        explicit=r["explicit"],
        state=r["status"],
        creator_status=r["creator_status"],
    )


def _stream(r: Any) -> Candidate:
    return Candidate(
        kind="stream",
        id=r["id"],
        creator_id=r["creator_id"],
        created_at=r["created_at"],
        audience=r["visibility"],
        rating=r["rating"],
        explicit=False,
        state=r["state"],
        creator_status=r["creator_status"],
        geo_blocked=frozenset(r["geo"]),
        mood=r["mood"],
    )


async def tier_candidates(
    db: Db, tier: int, viewer: Viewer, after: Position | None, limit: int
) -> list[Candidate]:
    """Up to ``limit`` candidates of one tier, newest first, strictly after ``after``."""
    chosen = list(viewer.follows | viewer.subscriptions)
    blocks = list(viewer.blocks)
    at, key = after if after else (None, None)
    common = (blocks, viewer.user_id, at, key, limit)
    order = "ORDER BY created_at DESC, id DESC LIMIT $5"
    if tier == ranking.FOLLOWED_POSTS:
        if not chosen:
            return []
        rows = await db.fetch(
            f"SELECT * FROM ({_POSTS} AND p.creator_id = ANY($6::uuid[])) q {order}",
            *common,
            chosen,
        )
        return [_post(r) for r in rows]
    if tier == ranking.RECENT_POSTS:
        # Posts of creators not chosen: only public ones can be visible (staff see all).
        rows = await db.fetch(
            f"SELECT * FROM ({_POSTS} AND NOT (p.creator_id = ANY($6::uuid[])) "
            "AND ($7 OR p.audience = 'public')) q "
            f"{order}",
            *common,
            chosen,
            viewer.staff,
        )
        return [_post(r) for r in rows]
    moods = sorted(viewer.moods)
    if tier == ranking.FOLLOWED_LIVE:
        if not chosen:
            return []
        where = "AND s.creator_id = ANY($6::uuid[])"
        args: list[Any] = [chosen]
    elif tier == ranking.MOOD_LIVE:
        if not moods:
            return []
        where = "AND NOT (s.creator_id = ANY($6::uuid[])) AND s.mood = ANY($7::text[])"
        args = [chosen, moods]
    else:
        where = (
            "AND NOT (s.creator_id = ANY($6::uuid[])) "
            "AND (s.mood IS NULL OR NOT (s.mood = ANY($7::text[])))"
        )
        args = [chosen, moods]
    rows = await db.fetch(f"SELECT * FROM ({_STREAMS} {where}) q {order}", *common, *args)
    return [_stream(r) for r in rows]


async def page(
    db: Db,
    viewer: Viewer,
    cursor: tuple[int, datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[ranking.Ranked], tuple[int, datetime, uuid.UUID] | None]:
    """One page of the feed and the cursor of the next (None: the feed ends here).

    Tiers are read in order, each in batches, from the cursor's position; each candidate is
    judged by `ranking.rank`, and the cursor moves past hidden ones too (they never come back).
    """
    out: list[ranking.Ranked] = []
    start = cursor[0] if cursor else ranking.TIERS[0]
    batch = max(limit, 20)
    for t in ranking.TIERS:
        if t < start:
            continue
        pos: Position | None = (cursor[1], cursor[2]) if cursor and t == cursor[0] else None
        while True:
            found = await tier_candidates(db, t, viewer, pos, batch)
            for c in found:
                pos = (c.created_at, c.id)
                shown = ranking.rank([c], viewer)
                if shown and shown[0].tier == t:
                    out.append(shown[0])
                    if len(out) == limit:
                        return out, (t, pos[0], pos[1])
            if len(found) < batch:
                break
    return out, None


async def post_counts(
    db: Db, post_ids: list[uuid.UUID], viewer_id: uuid.UUID | None
) -> dict[uuid.UUID, tuple[int, int, bool]]:
    """Per post: (likes, comments, liked by the viewer)."""
    if not post_ids:
        return {}
    rows = await db.fetch(
        "SELECT p.id, coalesce(sum(c.likes), 0)::bigint AS likes, "
        "coalesce(sum(c.comments), 0)::bigint AS comments, "
        "EXISTS (SELECT 1 FROM post_likes l WHERE l.post_id = p.id AND l.user_id = $2) AS mine "
        "FROM unnest($1::uuid[]) AS p(id) LEFT JOIN post_counter_slots c ON c.post_id = p.id "
        "GROUP BY p.id",
        post_ids,
        viewer_id,
    )
    return {r["id"]: (r["likes"], r["comments"], r["mine"]) for r in rows}


async def details(
    db: Db, posts: list[uuid.UUID], streams: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, Any]]:
    """What the page shows of its posts and streams (with the creator's handle)."""
    p = await db.fetch(
        "SELECT p.id, p.kind, p.caption, p.width, p.height, p.duration, p.published_at, "
        "u.handle FROM posts p JOIN users u ON u.id = p.creator_id WHERE p.id = ANY($1::uuid[])",
        posts,
    )
    s = await db.fetch(
        "SELECT s.id, s.title, s.mood, s.tags, u.handle FROM streams s "
        "JOIN users u ON u.id = s.creator_id WHERE s.id = ANY($1::uuid[])",
        streams,
    )
    return {r["id"]: r for r in p}, {r["id"]: r for r in s}
