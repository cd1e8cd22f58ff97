"""``/api/v1/users/{handle}``: profiles, avatars, follows (offset pagination)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.auth import audit
from api.auth.rbac import Permission
from api.blocks import store as blocks
from api.blocks.errors import Blocked
from api.keys import POOL, POST_SCANNER, SETTINGS
from api.moderation.policy import Action
from api.posts.errors import AvatarRejected
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.users import avatars, follows
from api.users import store as users
from api.users.errors import CannotFollowSelf, NotYourProfile, UserNotFound
from teezu.db import Db
from teezu.errors import PayloadTooLarge

api = Api("users")


class ProfileUpdate(Input):
    display_name: str | None = Field(default=None, max_length=60)
    bio: str | None = Field(default=None, max_length=1000)


class PageQuery(Input):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class AvatarQuery(Input):
    size: Literal["256", "64"] = "256"


class Profile(Output):
    id: uuid.UUID
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    followers: int
    following: int
    creator: bool
    created_at: datetime


class Follow(Output):
    id: uuid.UUID
    handle: str
    since: datetime


async def _user(call: Call[Any, Any]) -> users.UserRow:
    handle = call.path("handle")
    user = await users.get_by_handle(call.app[POOL], handle) if len(handle) <= 30 else None
    if user is None:
        raise UserNotFound("no such user", meta={"handle": handle})
    return user


async def _profile(db: Db, user: users.UserRow) -> Profile:
    r = await db.fetchrow(
        "SELECT display_name, bio, avatar_version FROM profiles WHERE user_id = $1", user.id
    )
    followers, following = await follows.counts(db, user.id)
    version = r["avatar_version"] if r else 0
    return Profile(
        id=user.id,
        handle=user.handle,
        display_name=r["display_name"] if r else "",
        bio=r["bio"] if r else "",
        avatar_url=f"/api/v1/users/{user.handle}/avatar?v={version}" if version else None,
        followers=followers,
        following=following,
        creator=bool({"creator", "provider"} & {str(x) for x in user.roles}),
        created_at=user.created_at,
    )


async def _editable(call: Call[Any, Any], action: str) -> users.UserRow:
    """The profile's user if it is the caller's own, or the caller is an admin (audited)."""
    user = await _user(call)
    p = call.principal
    if user.id == p.user_id:
        return user
    if p.can(Permission.SYSTEM_CONFIG_LIMITED):
        await audit.record(
            call.app[POOL],
            f"admin.profile.{action}",
            actor_id=p.user_id,
            subject_id=user.id,
            ip=call.ip,
        )
        return user
    raise NotYourProfile("you may only change your own profile")


@api.route("GET", "/api/v1/users/{handle}", summary="A user's public profile", response=Profile)
async def get_profile(call: Call[None, None]) -> Profile:
    return await _profile(call.app[POOL], await _user(call))


@api.route(
    "PATCH",
    "/api/v1/users/{handle}",
    summary="Change my display name or bio",
    body=ProfileUpdate,
    response=Profile,
    auth=True,
    errors=(403,),
)
async def update_profile(call: Call[ProfileUpdate, None]) -> Profile:
    user = await _editable(call, "update")
    await call.app[POOL].execute(
        "UPDATE profiles SET display_name = coalesce($2, display_name), bio = coalesce($3, bio), "
        "updated_at = now() WHERE user_id = $1",
        user.id,
        call.body.display_name,
        call.body.bio,
    )
    return await _profile(call.app[POOL], user)


@api.route(
    "PUT",
    "/api/v1/users/{handle}/avatar",
    summary="Upload my avatar (PNG, JPEG, WebP or GIF; re-encoded, metadata removed)",
    response=Profile,
    auth=True,
    errors=(403,),
    raw_body=("image/png", "image/jpeg", "image/webp", "image/gif", "application/octet-stream"),
    max_body=5 * 1024 * 1024,
)
async def upload_avatar(call: Call[bytes, None]) -> Profile:
    """The image type is read from the bytes, whatever the Content-Type says; the stored
    images are 256 and 64 px squares in WebP. On nodes that scan uploads, the moderation
    workers judge it first: anything the policy would not allow on a public sfw picture is
    refused (``AVATAR_REJECTED``)."""
    user = await _editable(call, "avatar")
    limit = call.app[SETTINGS].avatar_max_bytes
    if len(call.body) > limit:
        raise PayloadTooLarge(f"avatar over {limit} bytes", meta={"limit": limit})
    images = await asyncio.to_thread(avatars.render, call.body)
    scanner = call.app.get(POST_SCANNER)
    if scanner is not None:
        decision = await scanner.judge_avatar(call.body, images[256])
        if decision.action is not Action.ALLOW:
            raise AvatarRejected(
                "this picture cannot be an avatar",
                meta={"labels": sorted({m.label for m in decision.matches})},
            )
    await avatars.save(call.app[POOL], user.id, images)
    return await _profile(call.app[POOL], user)


@api.route(
    "GET",
    "/api/v1/users/{handle}/avatar",
    summary="A user's avatar (WebP)",
    query=AvatarQuery,
    produces="image/webp",
)
async def get_avatar(call: Call[None, AvatarQuery]) -> web.Response:
    user = await _user(call)
    data = await avatars.load(call.app[POOL], user.id, int(call.query.size))
    if data is None:
        raise UserNotFound("this user has no avatar")
    return web.Response(
        body=data,
        content_type=avatars.CONTENT_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )


@api.route(
    "POST",
    "/api/v1/users/{handle}/follow",
    summary="Follow this user",
    status=204,
    auth=True,
    errors=(403, 422),
)
async def follow(call: Call[None, None]) -> None:
    user = await _user(call)
    assert call.principal.user_id is not None
    if user.id == call.principal.user_id:
        raise CannotFollowSelf("you cannot follow yourself")
    if await blocks.between(call.app[POOL], call.principal.user_id, user.id):
        raise Blocked("one of you blocked the other", meta={"handle": user.handle})
    await follows.follow(call.app[POOL], call.principal.user_id, user.id)


@api.route(
    "DELETE",
    "/api/v1/users/{handle}/follow",
    summary="Stop following this user",
    status=204,
    auth=True,
)
async def unfollow(call: Call[None, None]) -> None:
    user = await _user(call)
    assert call.principal.user_id is not None
    await follows.unfollow(call.app[POOL], call.principal.user_id, user.id)


def _next_offset(q: PageQuery, got: int) -> str | None:
    return str(q.offset + q.limit) if got == q.limit else None


@api.route(
    "GET",
    "/api/v1/users/{handle}/followers",
    summary="Who follows this user, newest first (limit/offset; nextCursor is the next offset)",
    query=PageQuery,
    response=Follow,
    paginated=True,
)
async def list_followers(call: Call[None, PageQuery]) -> Page[Follow]:
    user = await _user(call)
    rows = await follows.followers(
        call.app[POOL], user.id, limit=call.query.limit, offset=call.query.offset
    )
    items = [Follow(id=r.user_id, handle=r.handle, since=r.since) for r in rows]
    return Page(items, _next_offset(call.query, len(rows)))


@api.route(
    "GET",
    "/api/v1/users/{handle}/following",
    summary="Whom this user follows, newest first (limit/offset; nextCursor is the next offset)",
    query=PageQuery,
    response=Follow,
    paginated=True,
)
async def list_following(call: Call[None, PageQuery]) -> Page[Follow]:
    user = await _user(call)
    rows = await follows.following(
        call.app[POOL], user.id, limit=call.query.limit, offset=call.query.offset
    )
    items = [Follow(id=r.user_id, handle=r.handle, since=r.since) for r in rows]
    return Page(items, _next_offset(call.query, len(rows)))
