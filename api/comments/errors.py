"""The caller-visible errors of comments and likes."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Forbidden, Invalid, NotFound


class CommentNotFound(NotFound):
    """Also what anyone who may not see the comment's post gets."""

    code = "COMMENT_NOT_FOUND"


COMMENT_ID = IdParam(CommentNotFound, "no such comment", "commentId")


class InvalidReply(Invalid):
    """A reply names a parent that is not a live top-level comment of the same post (threads
    are one level deep)."""

    code = "INVALID_REPLY"


class CommentBlocked(Invalid):
    """The post creator's chat filter or banned words refuse the comment."""

    code = "COMMENT_BLOCKED"


class NotCommentModerator(Forbidden):
    """Only the author, the post's creator and moderators remove or approve a comment."""

    code = "NOT_COMMENT_MODERATOR"
