"""SQL for stories: posts with ``expires_at`` (migration 0091). Active stories of the creators
one follows or subscribes to, the seen-by list, highlights, and what the stories worker
deletes once expired."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.posts.store import _COLUMNS, PostRow, _row
from teezu.db import Db


@dataclass(frozen=True)
class StoryRow:
    post: PostRow
    creator_handle: str
    seen: bool  # by the viewer asking


def _story(r: Any) -> StoryRow:
    d = dict(r)
    handle, seen = d.pop("creator_handle"), d.pop("seen")
    return StoryRow(_row(d), handle, seen)


_LIVE = "(p.highlight OR p.expires_at > $2)"


async def for_viewer(db: Db, viewer_id: uuid.UUID, now: datetime, limit: int) -> list[StoryRow]:
    """Published, unexpired stories (and highlights) of the viewer and of the creators they
    follow or subscribe to, leaving out accounts blocked either way; per creator, oldest
    first (the order they are watched in). Audiences are checked by the caller."""
    rows = await db.fetch(
        f"SELECT {_prefixed()}, u.handle AS creator_handle, "
        "EXISTS (SELECT 1 FROM story_views v WHERE v.post_id = p.id AND v.viewer_id = $1) AS seen "
        "FROM posts p JOIN users u ON u.id = p.creator_id "
        f"WHERE p.expires_at IS NOT NULL AND p.status = 'published' AND {_LIVE} "
        "AND u.status = 'active' AND (p.creator_id = $1 "
        "  OR p.creator_id IN (SELECT creator_id FROM follows WHERE follower_id = $1) "
        "  OR p.creator_id IN (SELECT creator_id FROM subscriptions WHERE subscriber_id = $1 "
        "      AND state IN ('active', 'grace') AND access_until > now())) "
        "AND NOT EXISTS (SELECT 1 FROM user_blocks b WHERE (b.blocker_id = $1 AND "
        "  b.blocked_id = p.creator_id) OR (b.blocker_id = p.creator_id AND b.blocked_id = $1)) "
        "ORDER BY u.handle, p.created_at, p.id LIMIT $3",
        viewer_id,
        now,
        limit,
    )
    return [_story(r) for r in rows]


async def of_creator(
    db: Db, creator_id: uuid.UUID, viewer_id: uuid.UUID | None, now: datetime, limit: int
) -> list[StoryRow]:
    """One creator's live stories and highlights, oldest first (statuses and audiences are
    checked by the caller)."""
    rows = await db.fetch(
        f"SELECT {_prefixed()}, u.handle AS creator_handle, "
        "EXISTS (SELECT 1 FROM story_views v WHERE v.post_id = p.id AND v.viewer_id = $1) AS seen "
        "FROM posts p JOIN users u ON u.id = p.creator_id "
        f"WHERE p.creator_id = $4 AND p.expires_at IS NOT NULL AND {_LIVE} "
        "ORDER BY p.created_at, p.id LIMIT $3",
        viewer_id,
        now,
        limit,
        creator_id,
    )
    return [_story(r) for r in rows]


def _prefixed() -> str:
    return ", ".join(f"p.{c.strip()}" for c in _COLUMNS.split(","))


async def seen(db: Db, post_id: uuid.UUID, viewer_id: uuid.UUID) -> bool:
    """Record that ``viewer_id`` saw the story (once); True the first time."""
    status = await db.execute(
        "INSERT INTO story_views (post_id, viewer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        post_id,
        viewer_id,
    )
    return bool(status == "INSERT 0 1")


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    handle: str
    seen_at: datetime


async def viewers(db: Db, post_id: uuid.UUID, *, limit: int, offset: int) -> list[Viewer]:
    rows = await db.fetch(
        "SELECT v.viewer_id, u.handle, v.seen_at FROM story_views v "
        "JOIN users u ON u.id = v.viewer_id WHERE v.post_id = $1 "
        "ORDER BY v.seen_at DESC, v.viewer_id LIMIT $2 OFFSET $3",
        post_id,
        limit,
        offset,
    )
    return [Viewer(r["viewer_id"], r["handle"], r["seen_at"]) for r in rows]


async def set_highlight(db: Db, post_id: uuid.UUID, on: bool) -> None:
    await db.execute("UPDATE posts SET highlight = $2 WHERE id = $1", post_id, on)


async def expired(db: Db, now: datetime, limit: int) -> list[uuid.UUID]:
    """Stories past their time and not pinned, oldest first."""
    rows = await db.fetch(
        "SELECT id FROM posts WHERE expires_at IS NOT NULL AND NOT highlight "
        "AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        now,
        limit,
    )
    return [r["id"] for r in rows]


async def delete_expired(db: Db, post_id: uuid.UUID, now: datetime) -> bool:
    """Delete the story's row if it is still expired and unpinned (a highlight set meanwhile
    keeps it); its flags and views cascade."""
    status = await db.execute(
        "DELETE FROM posts WHERE id = $1 AND expires_at <= $2 AND NOT highlight", post_id, now
    )
    return bool(status == "DELETE 1")
