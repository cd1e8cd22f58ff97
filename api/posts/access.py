"""Who may see a post, and its media. The one place audiences are checked.

* Its creator and moderators (``MODERATE_ALL``) see every post's details, in any status.
* Everyone else sees only ``published`` posts, and of those: ``public`` ones, and
  ``followers`` ones when they follow the creator (``api.users.follows.is_follower``).
  Subscriber-only posts will be one more audience here, checked with
  ``api.subscriptions.access.is_subscriber`` once subscriptions exist.
* Media (sharp picture, video, download) is served for ``published`` posts only, to anyone
  who sees the post, and an ``explicit`` post's only to callers with ``CONTENT_VIEW`` (signed-in
  adult accounts); its preview is always the blurred one.
"""

from __future__ import annotations

from typing import Any

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.posts.store import PostRow
from api.users.follows import is_follower


def is_staff_or_owner(post: PostRow, principal: Principal) -> bool:
    return post.creator_id == principal.user_id or principal.can(Permission.MODERATE_ALL)


async def can_see(db: Any, post: PostRow, principal: Principal) -> bool:
    """Whether ``principal`` may know this post exists (see the module's rules)."""
    if is_staff_or_owner(post, principal):
        return True
    if post.status != "published":
        return False
    if post.audience == "public":
        return True
    if post.audience == "followers":
        return principal.user_id is not None and await is_follower(
            db, principal.user_id, post.creator_id
        )
    return False  # an audience this code does not know yet is nobody's


def may_view_sharp(post: PostRow, principal: Principal) -> bool:
    """Whether the sharp media may be served (the caller already ``can_see`` the post)."""
    if post.status != "published":
        return False
    return not post.explicit or principal.can(Permission.CONTENT_VIEW)
