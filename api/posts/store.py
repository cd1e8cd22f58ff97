"""SQL for posts. Every function takes a pool or connection.

A post's life: ``pending`` (uploaded, waiting for the scan: claimed by one node's scanner at a
time, a stale claim is taken over) → ``published`` (maybe ``explicit``), ``review`` (held for a
moderator) or ``rejected``. A moderator's review moves ``review``/``rejected`` posts on.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from teezu.db import Connection, Db

_COLUMNS = (
    "id, creator_id, kind, content_type, caption, audience, rating, status, explicit, "
    "size_bytes, width, height, duration, media_key, preview_key, blurred_key, scan, "
    "scan_attempts, created_at, scanned_at, published_at, expires_at, highlight"
)


@dataclass(frozen=True)
class PostRow:
    id: uuid.UUID
    creator_id: uuid.UUID
    kind: str
    content_type: str
    caption: str
    audience: str
    rating: str
    status: str
    explicit: bool
    size_bytes: int
    width: int
    height: int
    duration: float | None
    media_key: str
    preview_key: str | None
    blurred_key: str | None
    scan: dict[str, Any] | None
    scan_attempts: int
    created_at: datetime
    scanned_at: datetime | None
    published_at: datetime | None
    expires_at: datetime | None = None  # set: a story (api.posts.stories)
    highlight: bool = False  # a story its creator pinned: it does not expire

    @property
    def story(self) -> bool:
        return self.expires_at is not None


def _row(r: Any) -> PostRow:
    d = dict(r)
    d["scan"] = json.loads(d["scan"]) if d["scan"] is not None else None
    return PostRow(**d)


async def create(
    db: Db,
    post_id: uuid.UUID,
    *,
    creator_id: uuid.UUID,
    kind: str,
    content_type: str,
    caption: str,
    audience: str,
    rating: str,
    size_bytes: int,
    width: int,
    height: int,
    duration: float | None,
    media_key: str,
    lifetime: timedelta | None = None,
) -> PostRow:
    """A pending post; with ``lifetime``, a story that expires that long after its creation."""
    r = await db.fetchrow(
        "INSERT INTO posts (id, creator_id, kind, content_type, caption, audience, rating, "
        "size_bytes, width, height, duration, media_key, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now() + $13::interval) "
        f"RETURNING {_COLUMNS}",
        post_id,
        creator_id,
        kind,
        content_type,
        caption,
        audience,
        rating,
        size_bytes,
        width,
        height,
        duration,
        media_key,
        lifetime,
    )
    return _row(r)


async def get(db: Db, post_id: uuid.UUID) -> PostRow | None:
    r = await db.fetchrow(f"SELECT {_COLUMNS} FROM posts WHERE id = $1", post_id)
    return _row(r) if r else None


async def published(
    db: Db,
    *,
    creator_id: uuid.UUID | None,
    audiences: list[str] | None,
    follower_of: uuid.UUID | None,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[PostRow]:
    """Published posts, newest first, keyset-paginated by ``before`` (created_at, id).

    ``audiences`` None: every audience (the caller may see all); otherwise only those, plus
    ``follower_of``'s own posts, ``followers`` posts of the creators they follow and
    ``subscribers`` posts of the creators they subscribe to (the condition of
    `api.subscriptions.access.is_subscriber`).
    """
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM posts p WHERE status = 'published' AND expires_at IS NULL "
        "AND ($1::uuid IS NULL OR creator_id = $1) "
        "AND ($2::text[] IS NULL OR audience = ANY($2) OR ($3::uuid IS NOT NULL AND "
        "  (creator_id = $3 "
        "   OR (audience = 'followers' AND EXISTS (SELECT 1 FROM follows f "
        "       WHERE f.follower_id = $3 AND f.creator_id = p.creator_id)) "
        "   OR (audience = 'subscribers' AND EXISTS (SELECT 1 FROM subscriptions s "
        "       WHERE s.subscriber_id = $3 AND s.creator_id = p.creator_id "
        "       AND s.state IN ('active', 'grace') AND s.access_until > now()))))) "
        "AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6)) "
        "ORDER BY created_at DESC, id DESC LIMIT $4",
        creator_id,
        audiences,
        follower_of,
        limit,
        before[0] if before else None,
        before[1] if before else None,
    )
    return [_row(r) for r in rows]


async def claim_pending(db: Db, *, node: str, stale_after: float) -> PostRow | None:
    """Take the oldest pending post nobody is scanning (or whose scanner went quiet)."""
    r = await db.fetchrow(
        "UPDATE posts SET claimed_by = $1, claimed_at = now(), scan_attempts = scan_attempts + 1 "
        "WHERE id = (SELECT id FROM posts WHERE status = 'pending' AND (claimed_at IS NULL OR "
        "claimed_at < now() - make_interval(secs => $2)) ORDER BY created_at "
        "FOR UPDATE SKIP LOCKED LIMIT 1) "
        f"RETURNING {_COLUMNS}",
        node,
        stale_after,
    )
    return _row(r) if r else None


async def finish_scan(
    conn: Connection,
    post_id: uuid.UUID,
    *,
    status: str,
    explicit: bool,
    scan: dict[str, Any],
    preview_key: str | None,
    blurred_key: str | None,
) -> bool:
    """Record the scan's outcome; False if the post was no longer pending (deleted, re-scanned)."""
    done: str = await conn.execute(
        "UPDATE posts SET status = $2, explicit = $3, scan = $4::jsonb, preview_key = $5, "
        "blurred_key = $6, scanned_at = now(), claimed_by = NULL, claimed_at = NULL, "
        "published_at = CASE WHEN $2 = 'published' THEN now() END "
        "WHERE id = $1 AND status = 'pending'",
        post_id,
        status,
        explicit,
        json.dumps(scan),
        preview_key,
        blurred_key,
    )
    return done == "UPDATE 1"


async def review_outcome(
    conn: Connection, post_id: uuid.UUID, *, status: str, explicit: bool | None = None
) -> bool:
    """A moderator's verdict on a held or rejected post (``published`` or ``rejected``)."""
    done: str = await conn.execute(
        "UPDATE posts SET status = $2, explicit = coalesce($3, explicit), "
        "published_at = CASE WHEN $2 = 'published' THEN coalesce(published_at, now()) END "
        "WHERE id = $1 AND status IN ('review', 'rejected', 'published')",
        post_id,
        status,
        explicit,
    )
    return done == "UPDATE 1"
