"""Personal data of a creator's posts: the rows, their scan results, and every object under
``posts/{post_id}/`` in storage (the upload and its previews).

Export: each post's (and story's) metadata, plus the creator's own uploaded files, and the
stories the user saw (``story_views``: others' seen-by lists lose them on erasure). Erasure
deletes the posts (flags about them cascade) and their storage folders; nothing of a post is
under a retention duty (the moderation log keeps its own entries, registered by reports).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData


async def export(ctx: ExportContext) -> dict[str, Any]:
    rows = await ctx.conn.fetch(
        "SELECT id, kind, content_type, caption, audience, rating, status, explicit, "
        "size_bytes, width, height, duration, media_key, created_at, published_at, "
        "expires_at, highlight "
        "FROM posts WHERE creator_id = $1 ORDER BY created_at",
        ctx.subject.user_id,
    )
    out = []
    for r in rows:
        data = await ctx.storage.get(r["media_key"])
        name = None
        if data is not None:
            name = f"posts/{r['id']}{PurePosixPath(r['media_key']).suffix}"
            ctx.files[name] = data
        out.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "contentType": r["content_type"],
                "caption": r["caption"],
                "audience": r["audience"],
                "rating": r["rating"],
                "status": r["status"],
                "explicit": r["explicit"],
                "sizeBytes": r["size_bytes"],
                "width": r["width"],
                "height": r["height"],
                "durationSeconds": r["duration"],
                "createdAt": r["created_at"],
                "publishedAt": r["published_at"],
                "storyExpiresAt": r["expires_at"],
                "highlight": r["highlight"],
                "file": name,
            }
        )
    seen = await ctx.conn.fetch(
        "SELECT post_id, seen_at FROM story_views WHERE viewer_id = $1 ORDER BY seen_at",
        ctx.subject.user_id,
    )
    views = [{"storyId": r["post_id"], "seenAt": r["seen_at"]} for r in seen]
    return {"posts.json": out, "story_views.json": views}


async def erase(ctx: EraseContext) -> None:
    await ctx.conn.execute("DELETE FROM story_views WHERE viewer_id = $1", ctx.subject.user_id)
    ids = await ctx.conn.fetch(
        "DELETE FROM posts WHERE creator_id = $1 RETURNING id", ctx.subject.user_id
    )
    for r in ids:
        ctx.cleanup.storage_prefixes.append(f"posts/{r['id']}")


REGISTRY.register(
    PersonalData(
        name="posts", tables=("posts", "story_views"), export=export, erase=erase, order=10
    )
)
