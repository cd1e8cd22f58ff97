"""Personal data of comments and likes: the comments a user wrote and the posts they liked.

Export: both, with the user's own words. Erasure deletes their likes and their comments; a
top-level comment that others replied to is kept emptied, without its author, and marked
removed by its author (the replies are the other people's words and stay in their thread).
Counts follow in the same transaction. Nothing here is under a retention duty.
"""

from __future__ import annotations

import uuid
from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    comments = await ctx.conn.fetch(
        "SELECT id, post_id, parent_id, body, masked, held, created_at, deleted_at, deleted_by "
        "FROM post_comments WHERE author_id = $1 ORDER BY created_at, id",
        uid,
    )
    likes = await ctx.conn.fetch(
        "SELECT post_id, created_at FROM post_likes WHERE user_id = $1 ORDER BY created_at", uid
    )
    return {
        "comments.json": [
            {
                "id": c["id"],
                "postId": c["post_id"],
                "parentId": c["parent_id"],
                "text": c["body"],
                "masked": c["masked"],
                "held": c["held"],
                "createdAt": c["created_at"],
                "removedAt": c["deleted_at"],
                "removedBy": c["deleted_by"],
            }
            for c in comments
        ],
        "likes.json": [{"postId": r["post_id"], "likedAt": r["created_at"]} for r in likes],
    }


async def _uncount(ctx: EraseContext, column: str, per_post: dict[uuid.UUID, int]) -> None:
    for post_id, n in per_post.items():
        await ctx.conn.execute(
            f"INSERT INTO post_counter_slots (post_id, slot, {column}) VALUES ($1, 0, $2) "
            f"ON CONFLICT (post_id, slot) DO UPDATE "
            f"SET {column} = post_counter_slots.{column} + $2",
            post_id,
            -n,
        )


async def erase(ctx: EraseContext) -> None:
    uid = ctx.subject.user_id
    liked = await ctx.conn.fetch("DELETE FROM post_likes WHERE user_id = $1 RETURNING post_id", uid)
    likes: dict[uuid.UUID, int] = {}
    for r in liked:
        likes[r["post_id"]] = likes.get(r["post_id"], 0) + 1
    await _uncount(ctx, "likes", likes)
    rows = await ctx.conn.fetch(
        "SELECT c.id, c.post_id, (c.deleted_at IS NULL AND NOT c.held) AS counted, "
        "EXISTS (SELECT 1 FROM post_comments r WHERE r.parent_id = c.id "
        "        AND r.author_id <> $1) AS answered "
        "FROM post_comments c WHERE c.author_id = $1",
        uid,
    )
    comments: dict[uuid.UUID, int] = {}
    kept = [r["id"] for r in rows if r["answered"]]
    for r in rows:
        if r["counted"]:
            comments[r["post_id"]] = comments.get(r["post_id"], 0) + 1
    await ctx.conn.execute(
        "UPDATE post_comments SET body = '', masked = false, author_id = NULL, "
        "deleted_at = coalesce(deleted_at, now()), deleted_by = coalesce(deleted_by, 'author') "
        "WHERE id = ANY($1::uuid[])",
        kept,
    )
    await ctx.conn.execute("DELETE FROM post_comments WHERE author_id = $1", uid)
    await _uncount(ctx, "comments", comments)


REGISTRY.register(
    PersonalData(
        name="comments",
        tables=("post_comments", "post_likes"),
        export=export,
        erase=erase,
        order=5,  # before posts: the user's own posts (and their comments) go there
    )
)
