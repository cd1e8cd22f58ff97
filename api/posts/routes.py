"""``/api/v1/posts``: creators upload an image or short video; it is published only after the
moderation workers scanned it (``api.posts.scanner``). Pending, held and rejected media is never
served; an explicit post's preview is blurred and its sharp media is for signed-in adults only;
a download carries the viewer's forensic mark.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api import cursors
from api.auth import audit
from api.auth.rbac import Permission
from api.keys import FORENSIC, POOL
from api.posts import access, media, store, uploads
from api.posts.errors import (
    POST_ID,
    MediaNotAvailable,
    PostNotFound,
)
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.users import store as users
from engine.forensic import viewer_number
from teezu.storage import STORAGE

api = Api("posts")

MAX_FORM = uploads.MAX_FORM
UUID_POST = {"post_id": POST_ID}


class PostOut(Output):
    id: uuid.UUID
    creator_id: uuid.UUID
    kind: Literal["image", "video"]
    content_type: str = Field(description="Sniffed from the file's bytes")
    caption: str
    audience: Literal["public", "followers", "subscribers"]
    rating: Literal["sfw", "adult"]
    status: Literal["pending", "published", "review", "rejected"]
    explicit: bool
    width: int
    height: int
    duration: float | None
    size_bytes: int
    created_at: datetime
    published_at: datetime | None
    preview_url: str | None = Field(
        description="Published posts: JPEG preview (blurred if explicit)"
    )
    media_url: str | None = Field(description="When the caller may see the sharp media")
    download_url: str | None = Field(description="The media with the caller's forensic mark")


class PreviewQuery(Input):
    variant: Literal["auto", "blurred"] = Field(
        default="auto",
        description="auto: blurred if the post is explicit; blurred: always the blurred one "
        "(what the feed shows a viewer who may not see the post sharp)",
    )


class ListQuery(Input):
    creator: str | None = Field(default=None, max_length=30, description="A creator's handle")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


def post_out(p: store.PostRow, gate: access.ViewerGate) -> PostOut:
    base = f"/api/v1/posts/{p.id}"
    published = p.status == "published"
    sharp = gate.sharp(p)
    return PostOut(
        id=p.id,
        creator_id=p.creator_id,
        kind=p.kind,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        content_type=p.content_type,
        caption=p.caption,
        audience=p.audience,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        rating=p.rating,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        status=p.status,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        explicit=p.explicit,
        width=p.width,
        height=p.height,
        duration=p.duration,
        size_bytes=p.size_bytes,
        created_at=p.created_at,
        published_at=p.published_at,
        preview_url=f"{base}/preview" if published else None,
        media_url=f"{base}/media" if sharp else None,
        download_url=f"{base}/download" if sharp and gate.principal.authenticated else None,
    )


async def _post(call: Call[Any, Any]) -> store.PostRow:
    """The post, if the caller may know it exists (else the same 404 as a forged id)."""
    post_id = call.id("post_id")
    db = call.app[POOL]
    post = await store.get(db, post_id)
    if post is None or not await access.can_see(db, post, call.principal):
        raise PostNotFound("no such post", meta={"postId": str(post_id)})
    return post


async def _gate(call: Call[Any, Any]) -> access.ViewerGate:
    return await access.viewer_gate(call.app, call.request, call.principal)


async def _sharp(call: Call[Any, Any]) -> store.PostRow:
    """The post, if the caller may have its sharp media (else the envelope error saying why)."""
    post = await _post(call)
    (await _gate(call)).check_sharp(post)
    return post


@api.route(
    "POST",
    "/api/v1/posts",
    summary="Upload an image or short video (multipart: file, caption, audience, rating); "
    "pending until scanned",
    status=201,
    response=PostOut,
    permission=Permission.UPLOAD,
    raw_body=("multipart/form-data",),
    max_body=MAX_FORM,
)
async def create_post(call: Call[bytes, None]) -> PostOut:
    """The file's type is read from its bytes (JPEG, PNG, WebP, MP4/QuickTime, WebM); the name
    and declared part type are ignored."""
    row = await uploads.upload(call, story=False)
    return post_out(row, await _gate(call))


@api.route(
    "GET",
    "/api/v1/posts",
    summary="Published posts I may see, newest first (optionally one creator's)",
    query=ListQuery,
    response=PostOut,
    paginated=True,
)
async def list_posts(call: Call[None, ListQuery]) -> Page[PostOut]:
    q = call.query
    db = call.app[POOL]
    creator_id = None
    if q.creator is not None:
        user = await users.get_by_handle(db, q.creator)
        if user is None:
            return Page([])
        creator_id = user.id
    staff = call.principal.can(Permission.MODERATE_ALL)
    rows = await store.published(
        db,
        creator_id=creator_id,
        audiences=None if staff else ["public"],
        follower_of=call.principal.user_id,
        limit=q.limit,
        before=cursors.decode(q.cursor),
    )
    more = cursors.encode(rows[-1].created_at, rows[-1].id) if len(rows) == q.limit else None
    gate = await _gate(call)
    return Page([post_out(p, gate) for p in rows], more)


@api.route(
    "GET",
    "/api/v1/posts/{post_id}",
    summary="One post (its creator and moderators also see it pending, held or rejected)",
    response=PostOut,
    path_formats=UUID_POST,
)
async def get_post(call: Call[None, None]) -> PostOut:
    return post_out(await _post(call), await _gate(call))


@api.route(
    "GET",
    "/api/v1/posts/{post_id}/preview",
    summary="A published post's preview (JPEG; blurred when the post is explicit)",
    query=PreviewQuery,
    path_formats=UUID_POST,
    produces="image/jpeg",
)
async def post_preview(call: Call[None, PreviewQuery]) -> web.Response:
    post = await _post(call)
    blur = post.explicit or call.query.variant == "blurred"
    key = post.blurred_key if blur else post.preview_key
    data = await call.app[STORAGE].get(key) if post.status == "published" and key else None
    if data is None:
        raise MediaNotAvailable("this post has no preview", meta={"status": post.status})
    return web.Response(
        body=data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"}
    )


@api.route(
    "GET",
    "/api/v1/posts/{post_id}/media",
    summary="A published post's image or video (adult and explicit posts: behind the age gate)",
    path_formats=UUID_POST,
    errors=(403,),
    produces=media.ACCEPTED[0],
    also_produces=tuple(media.ACCEPTED[1:]),
)
async def post_media(call: Call[None, None]) -> web.Response:
    post = await _sharp(call)
    data = await call.app[STORAGE].get(post.media_key)
    if data is None:
        raise MediaNotAvailable("this post's media is missing")
    return web.Response(
        body=data,
        content_type=post.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@api.route(
    "GET",
    "/api/v1/posts/{post_id}/download",
    summary="Download a published post carrying my forensic mark (JPEG or MP4)",
    auth=True,
    path_formats=UUID_POST,
    errors=(403,),
    produces="image/jpeg",
    also_produces=("video/mp4",),
)
async def download_post(call: Call[None, None]) -> web.Response:
    """The file is re-encoded with the caller's account id hidden in it (``engine.forensic``):
    a leaked copy names its downloader (``teezu watermark identify FILE``)."""
    post = await _sharp(call)
    data = await call.app[STORAGE].get(post.media_key)
    if data is None:
        raise MediaNotAvailable("this post's media is missing")
    viewer = call.principal.user_id
    assert viewer is not None
    # Logged before the bytes leave: the mark and the log name the same account.
    await audit.record(
        call.app[POOL],
        "post.download",
        actor_id=viewer,
        subject_id=post.creator_id,
        target=f"post:{post.id}",
        ip=call.ip,
    )
    marked = await call.app[FORENSIC].render(
        post.kind, post.content_type, data, viewer_number(str(viewer))
    )
    ext, ctype = (".jpg", "image/jpeg") if post.kind == "image" else (".mp4", "video/mp4")
    return web.Response(
        body=marked,
        content_type=ctype,
        headers={
            "Content-Disposition": f'attachment; filename="post-{post.id}{ext}"',
            "Cache-Control": "private, no-store",
        },
    )
