"""Personal data of profiles: display name, bio, avatar images and follows (both directions)."""

from __future__ import annotations

from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData

_EXTENSIONS = {"image/webp": "webp", "image/png": "png", "image/jpeg": "jpg"}


async def export(ctx: ExportContext) -> dict[str, Any]:
    uid = ctx.subject.user_id
    p = await ctx.conn.fetchrow(
        "SELECT display_name, bio, avatar_version, updated_at FROM profiles WHERE user_id = $1",
        uid,
    )
    avatar = await ctx.conn.fetchrow(
        "SELECT size, content_type, data FROM avatars WHERE user_id = $1 "
        "ORDER BY size DESC LIMIT 1",
        uid,
    )
    avatar_file = None
    if avatar is not None:
        avatar_file = f"avatar.{_EXTENSIONS.get(avatar['content_type'], 'bin')}"
        ctx.files[avatar_file] = bytes(avatar["data"])
    following = await ctx.conn.fetch(
        "SELECT u.handle, f.created_at FROM follows f JOIN users u ON u.id = f.creator_id "
        "WHERE f.follower_id = $1 AND u.status <> 'erased' ORDER BY f.created_at",
        uid,
    )
    # Who follows the user is other people's data: the count only.
    followers = await ctx.conn.fetchval("SELECT count(*) FROM follows WHERE creator_id = $1", uid)
    return {
        "profile.json": {
            "displayName": p["display_name"] if p else "",
            "bio": p["bio"] if p else "",
            "avatarVersion": p["avatar_version"] if p else 0,
            "updatedAt": p["updated_at"] if p else None,
            "avatarFile": avatar_file,
        },
        "follows.json": {
            "following": [{"handle": f["handle"], "since": f["created_at"]} for f in following],
            "followerCount": followers,
        },
    }


async def erase(ctx: EraseContext) -> None:
    uid = ctx.subject.user_id
    await ctx.conn.execute("DELETE FROM avatars WHERE user_id = $1", uid)
    await ctx.conn.execute("DELETE FROM profiles WHERE user_id = $1", uid)
    await ctx.conn.execute("DELETE FROM follows WHERE follower_id = $1 OR creator_id = $1", uid)


REGISTRY.register(
    PersonalData(
        name="profiles",
        tables=("profiles", "avatars", "follows"),
        export=export,
        erase=erase,
        order=40,
    )
)
