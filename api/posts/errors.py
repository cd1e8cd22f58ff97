"""The caller-visible errors of posts."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Forbidden, Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType


class PostNotFound(NotFound):
    """Also what anyone who may not see a post gets (its existence is not revealed)."""

    code = "POST_NOT_FOUND"


# ``{post_id}`` in a path: a malformed one is an unknown post.
POST_ID = IdParam(PostNotFound, "no such post", "postId")


class InvalidPost(Invalid):
    code = "INVALID_POST"


class UnsupportedMedia(UnsupportedMediaType):
    """The file's bytes are not a JPEG, PNG, WebP, MP4/QuickTime or WebM (whatever its name)."""

    code = "UNSUPPORTED_MEDIA"


class MediaTooLarge(PayloadTooLarge):
    code = "MEDIA_TOO_LARGE"


class InvalidMedia(Invalid):
    """The type is right but the file is broken, too long or too big in pixels."""

    code = "INVALID_MEDIA"


class MediaNotAvailable(NotFound):
    """The post exists but its media is not served (pending, held for review, or rejected)."""

    code = "MEDIA_NOT_AVAILABLE"


class ExplicitContent(Forbidden):
    """An explicit post's sharp media needs a signed-in adult account (its preview is blurred)."""

    code = "EXPLICIT_CONTENT"


class AvatarRejected(Invalid):
    code = "AVATAR_REJECTED"


class StoryNotFound(NotFound):
    """Also what anyone who may not see a story gets, and an expired one."""

    code = "STORY_NOT_FOUND"


class NotStoryOwner(Forbidden):
    code = "NOT_STORY_OWNER"
