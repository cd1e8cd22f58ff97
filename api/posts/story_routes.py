"""``/api/v1/stories``: images and short videos that expire 24 h after upload.

A story is a post with ``expires_at`` (``api.posts.stories``): uploaded and scanned like a
post (pending until the moderation workers publish it), under the same audiences and age gate
(``api.posts.access``), its media served by the post routes. It is left out of post lists and
the feed; members see the stories of the creators they follow or subscribe to, and mark them
seen; the author reads the seen-by list and may pin a story as a highlight (it then does not
expire). The stories worker (``workers/stories.py``) deletes expired ones, media first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from api.auth.rbac import Permission
from api.keys import POOL
from api.posts import access, stories, uploads
from api.posts import store as posts
from api.posts.errors import POST_ID, NotStoryOwner, StoryNotFound
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.users import store as users
from api.users.errors import UserNotFound

api = Api("stories")

UUID_STORY = {"post_id": POST_ID}


class StoryOut(Output):
    id: uuid.UUID
    creator_id: uuid.UUID
    creator_handle: str
    kind: Literal["image", "video"]
    caption: str
    status: Literal["pending", "published", "review", "rejected"]
    created_at: datetime
    expires_at: datetime
    highlight: bool = Field(description="Pinned by its creator: it does not expire")
    preview_url: str | None = Field(description="Blurred unless the caller may see it sharp")
    media_url: str | None = Field(description="When the caller may see the sharp media")
    seen: bool = Field(description="I marked it seen")


class StoryList(Input):
    limit: int = Field(default=100, ge=1, le=200)


class ViewerPage(Input):
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=100_000)


class StoryViewer(Output):
    id: uuid.UUID
    handle: str
    seen_at: datetime


class HighlightIn(Input):
    highlight: bool


def story_out(p: posts.PostRow, handle: str, seen: bool, gate: access.ViewerGate) -> StoryOut:
    assert p.expires_at is not None
    base = f"/api/v1/posts/{p.id}"
    published = p.status == "published"
    sharp = gate.sharp(p)
    return StoryOut(
        id=p.id,
        creator_id=p.creator_id,
        creator_handle=handle,
        kind=p.kind,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        caption=p.caption,
        status=p.status,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        created_at=p.created_at,
        expires_at=p.expires_at,
        highlight=p.highlight,
        preview_url=(f"{base}/preview" if sharp else f"{base}/preview?variant=blurred")
        if published
        else None,
        media_url=f"{base}/media" if sharp else None,
        seen=seen,
    )


async def _visible(call: Call[Any, Any], rows: list[stories.StoryRow]) -> list[StoryOut]:
    gate = await access.viewer_gate(call.app, call.request, call.principal)
    db = call.app[POOL]
    out = []
    for r in rows:
        if await access.can_see(db, r.post, call.principal):
            out.append(story_out(r.post, r.creator_handle, r.seen, gate))
    return out


async def _story(call: Call[Any, Any]) -> posts.PostRow:
    post_id = call.id("post_id")
    db = call.app[POOL]
    post = await posts.get(db, post_id)
    if post is None or not post.story or not await access.can_see(db, post, call.principal):
        raise StoryNotFound("no such story", meta={"postId": str(post_id)})
    return post


def _own(call: Call[Any, Any], post: posts.PostRow) -> None:
    if post.creator_id != call.principal.user_id:
        raise NotStoryOwner("only the story's creator may")


@api.route(
    "POST",
    "/api/v1/stories",
    summary="Upload a story (multipart: file, caption, audience, rating); pending until "
    "scanned, gone 24 h after upload unless pinned",
    status=201,
    response=StoryOut,
    permission=Permission.UPLOAD,
    raw_body=("multipart/form-data",),
    max_body=uploads.MAX_FORM,
)
async def create_story(call: Call[bytes, None]) -> StoryOut:
    row = await uploads.upload(call, story=True)
    gate = await access.viewer_gate(call.app, call.request, call.principal)
    return story_out(row, call.principal.handle or "", False, gate)


@api.route(
    "GET",
    "/api/v1/stories",
    summary="Stories of the creators I follow or subscribe to, and mine (per creator, oldest "
    "first)",
    query=StoryList,
    response=StoryOut,
    paginated=True,
    auth=True,
)
async def list_stories(call: Call[None, StoryList]) -> Page[StoryOut]:
    assert call.principal.user_id is not None
    rows = await stories.for_viewer(
        call.app[POOL], call.principal.user_id, datetime.now(UTC), call.query.limit
    )
    return Page(await _visible(call, rows))


@api.route(
    "GET",
    "/api/v1/users/{handle}/stories",
    summary="A creator's live stories and highlights that I may see, oldest first",
    query=StoryList,
    response=StoryOut,
    paginated=True,
)
async def creator_stories(call: Call[None, StoryList]) -> Page[StoryOut]:
    handle = call.path("handle")
    db = call.app[POOL]
    user = await users.get_by_handle(db, handle) if len(handle) <= 30 else None
    if user is None:
        raise UserNotFound("no such user", meta={"handle": handle})
    rows = await stories.of_creator(
        db, user.id, call.principal.user_id, datetime.now(UTC), call.query.limit
    )
    return Page(await _visible(call, rows))


@api.route(
    "POST",
    "/api/v1/stories/{post_id}/seen",
    summary="Mark a story seen (its creator sees who saw it)",
    status=204,
    auth=True,
    path_formats=UUID_STORY,
)
async def mark_seen(call: Call[None, None]) -> None:
    post = await _story(call)
    assert call.principal.user_id is not None
    if post.creator_id != call.principal.user_id and post.status == "published":
        await stories.seen(call.app[POOL], post.id, call.principal.user_id)


@api.route(
    "GET",
    "/api/v1/stories/{post_id}/viewers",
    summary="Who saw my story, latest first (limit/offset; nextCursor is the next offset)",
    query=ViewerPage,
    response=StoryViewer,
    paginated=True,
    auth=True,
    path_formats=UUID_STORY,
    errors=(403,),
)
async def story_viewers(call: Call[None, ViewerPage]) -> Page[StoryViewer]:
    post = await _story(call)
    _own(call, post)
    q = call.query
    rows = await stories.viewers(call.app[POOL], post.id, limit=q.limit, offset=q.offset)
    items = [StoryViewer(id=v.user_id, handle=v.handle, seen_at=v.seen_at) for v in rows]
    return Page(items, str(q.offset + q.limit) if len(rows) == q.limit else None)


@api.route(
    "PUT",
    "/api/v1/stories/{post_id}/highlight",
    summary="Pin my story as a highlight (it stops expiring) or unpin it",
    body=HighlightIn,
    response=StoryOut,
    auth=True,
    path_formats=UUID_STORY,
    errors=(403,),
)
async def set_highlight(call: Call[HighlightIn, None]) -> StoryOut:
    post = await _story(call)
    _own(call, post)
    db = call.app[POOL]
    await stories.set_highlight(db, post.id, call.body.highlight)
    fresh = await posts.get(db, post.id)
    if fresh is None:
        raise StoryNotFound("no such story", meta={"postId": str(post.id)})
    gate = await access.viewer_gate(call.app, call.request, call.principal)
    return story_out(fresh, call.principal.handle or "", False, gate)
