"""Comments (threaded one level) and likes on posts.

* Whoever may see a post (``api.posts.access.can_see``) reads its comments; members with
  ``chat.send`` comment, signed-in accounts like. Accounts that blocked each other
  (``api.blocks``) neither comment on nor like each other's posts, nor see each other's comments.
* A comment goes through the post creator's chat filter and banned words
  (``api.chat.screening``, the same verdicts as in their live rooms): ``block`` refuses it
  (``COMMENT_BLOCKED``), ``mask`` stars the words, ``hold`` keeps it for the creator or a
  moderator to approve (only its author sees it meanwhile). The rooms' review mode (hold or
  delay every message) is for live chat, not comments.
* Its author, the post's creator and moderators remove a comment; a moderator's removal is
  written to the moderation log. Reports name a comment with target type ``comment``.
* Likes are idempotent (``PUT`` twice: one like); counts come from the post's counter slots.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api import cursors
from api.auth.rbac import Permission
from api.blocks import store as blocks
from api.blocks.errors import Blocked
from api.chat import rooms
from api.chat import store as chat
from api.chat.screening import Verdict, screen
from api.comments import store
from api.comments.errors import (
    COMMENT_ID,
    CommentBlocked,
    CommentNotFound,
    InvalidReply,
    NotCommentModerator,
)
from api.comments.likes import LIKES
from api.keys import POOL
from api.posts import access
from api.posts import store as posts
from api.posts.errors import POST_ID, PostNotFound
from api.reports import store as reports
from api.routing import Api, Call, Page, RateLimit
from api.schema import Input, Output

api = Api("comments")

MAX_COMMENT = 1000
UUID_POST = {"post_id": POST_ID}
UUID_COMMENT = {"comment_id": COMMENT_ID}


class CommentIn(Input):
    text: str = Field(min_length=1, max_length=MAX_COMMENT)
    parent_id: uuid.UUID | None = Field(
        default=None, description="Reply to this top-level comment (threads are one level)"
    )


class CommentQuery(Input):
    parent: uuid.UUID | None = Field(
        default=None, description="List this comment's replies instead of the top level"
    )
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class CommentOut(Output):
    id: uuid.UUID
    post_id: uuid.UUID
    author_id: uuid.UUID | None = Field(description="None once the author's account is erased")
    author_handle: str | None
    parent_id: uuid.UUID | None
    text: str = Field(description="Empty once removed")
    masked: bool = Field(description="The filter starred words in it")
    held: bool = Field(description="Waiting for the creator or a moderator to approve it")
    created_at: datetime
    removed: bool
    removed_by: Literal["author", "creator", "moderator"] | None
    replies: int
    can_remove: bool


class LikeState(Output):
    post_id: uuid.UUID
    likes: int
    comments: int
    liked_by_me: bool


def comment_out(c: store.CommentRow, post: posts.PostRow, call: Call[Any, Any]) -> CommentOut:
    return CommentOut(
        id=c.id,
        post_id=c.post_id,
        author_id=c.author_id,
        author_handle=c.author_handle,
        parent_id=c.parent_id,
        text=c.body,
        masked=c.masked,
        held=c.held,
        created_at=c.created_at,
        removed=c.deleted_at is not None,
        removed_by=c.deleted_by,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        replies=c.replies,
        can_remove=c.deleted_at is None and _removal(c, post, call) is not None,
    )


def _removal(c: store.CommentRow, post: posts.PostRow, call: Call[Any, Any]) -> str | None:
    """Who the caller removes ``c`` as, or None when they may not."""
    p = call.principal
    if p.user_id is None:
        return None
    if c.author_id == p.user_id:
        return "author"
    if post.creator_id == p.user_id:
        return "creator"
    if p.can(Permission.MODERATE_ALL):
        return "moderator"
    return None


async def _post(call: Call[Any, Any], post_id: uuid.UUID) -> posts.PostRow:
    db = call.app[POOL]
    post = await posts.get(db, post_id)
    if post is None or not await access.can_see(db, post, call.principal):
        raise PostNotFound("no such post", meta={"postId": str(post_id)})
    return post


async def _not_blocked(call: Call[Any, Any], post: posts.PostRow) -> None:
    me = call.principal.user_id
    assert me is not None
    if me != post.creator_id and await blocks.between(call.app[POOL], me, post.creator_id):
        raise Blocked("one of you blocked the other", meta={"postId": str(post.id)})


async def _screen(call: Call[Any, Any], post: posts.PostRow, text: str) -> Verdict:
    """The post creator's filter and banned words on ``text`` (their own comments pass)."""
    if call.principal.user_id == post.creator_id:
        return Verdict("allow", text)
    from api.realtime import CHAT  # api.realtime imports route modules' errors

    db = call.app[POOL]
    safety = await chat.get_safety(db, post.creator_id)
    banned = await rooms.load_banned(db, post.creator_id)
    service = call.app.get(CHAT)
    if service is not None:
        return await service.scorer.screen(text, safety, banned)
    # No chat service on this node: banned words only (the classifier lives in the service).
    return await asyncio.to_thread(screen, text, safety, banned, [])


async def _comment(call: Call[Any, Any]) -> tuple[store.CommentRow, posts.PostRow]:
    comment_id = call.id("comment_id")
    db = call.app[POOL]
    c = await store.get(db, comment_id)
    post = await posts.get(db, c.post_id) if c else None
    if c is None or post is None or not await access.can_see(db, post, call.principal):
        raise CommentNotFound("no such comment", meta={"commentId": str(comment_id)})
    if c.held and not (c.author_id == call.principal.user_id or _moderates(call, post)):
        raise CommentNotFound("no such comment", meta={"commentId": str(comment_id)})
    return c, post


def _moderates(call: Call[Any, Any], post: posts.PostRow) -> bool:
    return post.creator_id == call.principal.user_id or call.principal.can(Permission.MODERATE_ALL)


@api.route(
    "GET",
    "/api/v1/posts/{post_id}/comments",
    summary="A post's comments, oldest first (or one comment's replies with parent=)",
    query=CommentQuery,
    response=CommentOut,
    paginated=True,
    path_formats=UUID_POST,
)
async def list_comments(call: Call[None, CommentQuery]) -> Page[CommentOut]:
    q = call.query
    post = await _post(call, call.id("post_id"))
    rows = await store.thread(
        call.app[POOL],
        post.id,
        parent_id=q.parent,
        viewer_id=call.principal.user_id,
        sees_held=_moderates(call, post),
        limit=q.limit,
        after=cursors.decode(q.cursor),
    )
    more = cursors.encode(rows[-1].created_at, rows[-1].id) if len(rows) == q.limit else None
    return Page([comment_out(c, post, call) for c in rows], more)


@api.route(
    "POST",
    "/api/v1/posts/{post_id}/comments",
    summary="Comment on a post, or reply to a top-level comment (the creator's chat filter "
    "applies)",
    status=201,
    body=CommentIn,
    response=CommentOut,
    permission=Permission.CHAT,
    rate_limit=RateLimit(30, 60, setting="comment_rate_limit"),
    path_formats=UUID_POST,
    errors=(403,),
)
async def create_comment(call: Call[CommentIn, None]) -> CommentOut:
    body = call.body
    post = await _post(call, call.id("post_id"))
    if post.status != "published":
        raise PostNotFound("no such post", meta={"postId": str(post.id)})
    await _not_blocked(call, post)
    verdict = await _screen(call, post, body.text)
    if verdict.action == "block":
        raise CommentBlocked(
            "this comment is not allowed on this post", meta={"reasons": list(verdict.reasons)}
        )
    assert call.principal.user_id is not None
    async with call.app[POOL].acquire() as conn, conn.transaction():
        if body.parent_id is not None and not await store.parent_ok(conn, post.id, body.parent_id):
            raise InvalidReply(
                "replies go to a top-level comment of the same post",
                meta={"parentId": str(body.parent_id)},
            )
        comment_id = await store.create(
            conn,
            post_id=post.id,
            author_id=call.principal.user_id,
            parent_id=body.parent_id,
            body=verdict.text,
            masked=verdict.action == "mask",
            held=verdict.action == "hold",
        )
    row = await store.get(call.app[POOL], comment_id)
    assert row is not None
    return comment_out(row, post, call)


@api.route(
    "DELETE",
    "/api/v1/comments/{comment_id}",
    summary="Remove a comment (its author, the post's creator, or a moderator)",
    status=204,
    auth=True,
    path_formats=UUID_COMMENT,
    errors=(403,),
)
async def remove_comment(call: Call[None, None]) -> None:
    c, post = await _comment(call)
    by = _removal(c, post, call)
    if by is None:
        raise NotCommentModerator("only its author, the post's creator or a moderator may")
    async with call.app[POOL].acquire() as conn, conn.transaction():
        removed = await store.remove(conn, c.id, by)
        if removed and by == "moderator":
            await reports.log(
                conn,
                call.principal.user_id,
                "comment.remove",
                subject_id=c.author_id,
                meta={"commentId": str(c.id), "postId": str(post.id)},
            )


@api.route(
    "POST",
    "/api/v1/comments/{comment_id}/approve",
    summary="Release a comment the filter held (the post's creator or a moderator)",
    response=CommentOut,
    auth=True,
    path_formats=UUID_COMMENT,
    errors=(403,),
)
async def approve_comment(call: Call[None, None]) -> CommentOut:
    c, post = await _comment(call)
    if not _moderates(call, post):
        raise NotCommentModerator("only the post's creator or a moderator may")
    async with call.app[POOL].acquire() as conn, conn.transaction():
        released = await store.approve(conn, c.id)
        if released and post.creator_id != call.principal.user_id:
            await reports.log(
                conn,
                call.principal.user_id,
                "comment.approve",
                subject_id=c.author_id,
                meta={"commentId": str(c.id), "postId": str(post.id)},
            )
    row = await store.get(call.app[POOL], c.id)
    assert row is not None
    return comment_out(row, post, call)


async def _like_state(call: Call[Any, Any], post_id: uuid.UUID) -> LikeState:
    likes, comments, mine = await store.counts(call.app[POOL], post_id, call.principal.user_id)
    return LikeState(post_id=post_id, likes=likes, comments=comments, liked_by_me=mine)


@api.route(
    "GET",
    "/api/v1/posts/{post_id}/likes",
    summary="A post's like and comment counts (and whether I like it)",
    response=LikeState,
    path_formats=UUID_POST,
)
async def get_likes(call: Call[None, None]) -> LikeState:
    post = await _post(call, call.id("post_id"))
    return await _like_state(call, post.id)


@api.route(
    "PUT",
    "/api/v1/posts/{post_id}/like",
    summary="Like a post (idempotent: liking twice is one like)",
    response=LikeState,
    permission=Permission.CONTENT_VIEW,
    path_formats=UUID_POST,
    errors=(403,),
)
async def like_post(call: Call[None, None]) -> LikeState:
    post = await _post(call, call.id("post_id"))
    if post.status != "published":
        raise PostNotFound("no such post", meta={"postId": str(post.id)})
    await _not_blocked(call, post)
    assert call.principal.user_id is not None
    await call.app[LIKES].like(post.id, call.principal.user_id)  # batched with others
    return await _like_state(call, post.id)


@api.route(
    "DELETE",
    "/api/v1/posts/{post_id}/like",
    summary="Take my like back (idempotent)",
    response=LikeState,
    permission=Permission.CONTENT_VIEW,
    path_formats=UUID_POST,
)
async def unlike_post(call: Call[None, None]) -> LikeState:
    post = await _post(call, call.id("post_id"))
    assert call.principal.user_id is not None
    await call.app[LIKES].unlike(post.id, call.principal.user_id)
    return await _like_state(call, post.id)
