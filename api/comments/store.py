"""SQL for comments and likes on posts.

Counts live in ``post_counter_slots``: every change adds +1/-1 to one of 16 slots of the post,
chosen at random, in the same transaction as the row it counts, so concurrent likes of one hot
post spread over 16 row locks instead of queueing on one, and the sum of the slots equals the
rows at every commit. A comment counts while it is visible (not held, not removed).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Connection, Db

SLOTS = 16
_COLUMNS = (
    "c.id, c.post_id, c.author_id, u.handle AS author_handle, c.parent_id, c.body, c.masked, "
    "c.held, c.created_at, c.deleted_at, c.deleted_by, "
    "(SELECT count(*) FROM post_comments r WHERE r.parent_id = c.id AND r.deleted_at IS NULL "
    " AND NOT r.held) AS replies"
)


@dataclass(frozen=True)
class CommentRow:
    id: uuid.UUID
    post_id: uuid.UUID
    author_id: uuid.UUID | None  # None: an erased account's emptied comment
    author_handle: str | None
    parent_id: uuid.UUID | None
    body: str
    masked: bool
    held: bool
    created_at: datetime
    deleted_at: datetime | None
    deleted_by: str | None
    replies: int


def _row(r: Any) -> CommentRow:
    return CommentRow(**dict(r))


async def _count(conn: Db, post_id: uuid.UUID, *, likes: int = 0, comments: int = 0) -> None:
    await conn.execute(
        "INSERT INTO post_counter_slots (post_id, slot, likes, comments) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (post_id, slot) DO UPDATE SET likes = post_counter_slots.likes + $3, "
        "comments = post_counter_slots.comments + $4",
        post_id,
        random.randrange(SLOTS),
        likes,
        comments,
    )


async def get(db: Db, comment_id: uuid.UUID) -> CommentRow | None:
    r = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM post_comments c LEFT JOIN users u ON u.id = c.author_id "
        "WHERE c.id = $1",
        comment_id,
    )
    return _row(r) if r else None


async def parent_ok(conn: Connection, post_id: uuid.UUID, parent_id: uuid.UUID) -> bool:
    """Whether ``parent_id`` is a live top-level comment of ``post_id`` (locked until commit, so
    it cannot be removed while the reply is written)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM post_comments WHERE id = $1 AND post_id = $2 "
            "AND parent_id IS NULL AND deleted_at IS NULL FOR SHARE)",
            parent_id,
            post_id,
        )
    )


async def create(
    conn: Connection,
    *,
    post_id: uuid.UUID,
    author_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    body: str,
    masked: bool,
    held: bool,
) -> uuid.UUID:
    """Insert a comment (in the caller's transaction) and count it unless held."""
    comment_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO post_comments (id, post_id, author_id, parent_id, body, masked, held) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        comment_id,
        post_id,
        author_id,
        parent_id,
        body,
        masked,
        held,
    )
    if not held:
        await _count(conn, post_id, comments=1)
    return comment_id


async def thread(
    db: Db,
    post_id: uuid.UUID,
    *,
    parent_id: uuid.UUID | None,
    viewer_id: uuid.UUID | None,
    sees_held: bool,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[CommentRow]:
    """Top-level comments (``parent_id`` None) or one comment's replies, oldest first. Held
    comments: only their author's own, or all when ``sees_held`` (the creator, moderators).
    Comments of accounts the viewer blocked, or that blocked the viewer, are left out."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM post_comments c LEFT JOIN users u ON u.id = c.author_id "
        "WHERE c.post_id = $1 AND c.parent_id IS NOT DISTINCT FROM $2 "
        "AND (NOT c.held OR $3 OR c.author_id = $4) "
        "AND ($4::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM user_blocks b WHERE "
        "  (b.blocker_id = $4 AND b.blocked_id = c.author_id) "
        "  OR (b.blocker_id = c.author_id AND b.blocked_id = $4))) "
        "AND ($6::timestamptz IS NULL OR (c.created_at, c.id) > ($6, $7)) "
        "ORDER BY c.created_at, c.id LIMIT $5",
        post_id,
        parent_id,
        sees_held,
        viewer_id,
        limit,
        after[0] if after else None,
        after[1] if after else None,
    )
    return [_row(r) for r in rows]


async def remove(conn: Connection, comment_id: uuid.UUID, by: str) -> bool:
    """Remove a comment (its text is emptied; the row stays for its replies' context)."""
    row = await conn.fetchrow(
        "UPDATE post_comments SET body = '', deleted_at = now(), deleted_by = $2 "
        "WHERE id = $1 AND deleted_at IS NULL RETURNING post_id, held",
        comment_id,
        by,
    )
    if row is None:
        return False
    if not row["held"]:
        await _count(conn, row["post_id"], comments=-1)
    return True


async def approve(conn: Connection, comment_id: uuid.UUID) -> bool:
    """Release a held comment (it starts counting)."""
    post_id = await conn.fetchval(
        "UPDATE post_comments SET held = false WHERE id = $1 AND held AND deleted_at IS NULL "
        "RETURNING post_id",
        comment_id,
    )
    if post_id is None:
        return False
    await _count(conn, post_id, comments=1)
    return True


async def like(conn: Connection, post_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """True if this is a new like (liking twice changes nothing)."""
    status = await conn.execute(
        "INSERT INTO post_likes (post_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        post_id,
        user_id,
    )
    if status != "INSERT 0 1":
        return False
    await _count(conn, post_id, likes=1)
    return True


async def unlike(conn: Connection, post_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    status = await conn.execute(
        "DELETE FROM post_likes WHERE post_id = $1 AND user_id = $2", post_id, user_id
    )
    if status != "DELETE 1":
        return False
    await _count(conn, post_id, likes=-1)
    return True


async def counts(db: Db, post_id: uuid.UUID, viewer_id: uuid.UUID | None) -> tuple[int, int, bool]:
    """(likes, comments, liked by the viewer)."""
    r = await db.fetchrow(
        "SELECT coalesce(sum(likes), 0)::bigint AS likes, "
        "coalesce(sum(comments), 0)::bigint AS comments, "
        "EXISTS (SELECT 1 FROM post_likes WHERE post_id = $1 AND user_id = $2) AS mine "
        "FROM post_counter_slots WHERE post_id = $1",
        post_id,
        viewer_id,
    )
    assert r is not None
    return r["likes"], r["comments"], r["mine"]
