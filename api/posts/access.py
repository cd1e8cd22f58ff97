"""Who may see a post, and its media. The one place audiences and the age gate are checked.

* Its creator and moderators (``MODERATE_ALL``) see every post's details, in any status, and
  its media once published.
* Everyone else sees only ``published`` posts, and of those: ``public`` ones, and
  ``followers`` ones when they follow the creator (``api.users.follows.is_follower``).
  ``subscribers`` ones when they have a live subscription to the creator
  (``api.subscriptions.access.is_subscriber``: active, or in grace after a failed renewal).
* A story past its ``expires_at`` (and not pinned as a highlight) is its creator's and the
  moderators' only, until the stories worker deletes it.
* Sharp media (the file, the download) is served for ``published`` posts only. Posts rated
  ``adult`` or marked explicit by the scan are behind the viewer age gate, like adult streams
  (``api/agegate``: the requirement where the viewer is, against their level). With the gate
  off (``TEEZU_AGE_GATE_ENABLED=false``), an explicit post's media needs ``CONTENT_VIEW`` (a
  signed-in account). An explicit post's preview is always the blurred one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from api.agegate import store as ages
from api.agegate.gate import AGE_GATE
from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.keys import POOL
from api.posts.errors import ExplicitContent, MediaNotAvailable
from api.posts.store import PostRow
from api.subscriptions.access import is_subscriber
from api.users.follows import is_follower
from hls.gate import AgeVerificationRequired, meets
from teezu.db import Db


def is_staff_or_owner(post: PostRow, principal: Principal) -> bool:
    return post.creator_id == principal.user_id or principal.can(Permission.MODERATE_ALL)


async def can_see(db: Db, post: PostRow, principal: Principal) -> bool:
    """Whether ``principal`` may know this post exists (see the module's rules)."""
    if is_staff_or_owner(post, principal):
        return True
    if post.status != "published":
        return False
    if post.expires_at is not None and not post.highlight and post.expires_at <= datetime.now(UTC):
        return False  # an expired story (the stories worker deletes it soon)
    if post.audience == "public":
        return True
    if post.audience == "followers":
        return principal.user_id is not None and await is_follower(
            db, principal.user_id, post.creator_id
        )
    if post.audience == "subscribers":
        return await is_subscriber(db, principal.user_id, post.creator_id)
    return False  # an audience this code does not know yet is nobody's


def age_gated(post: PostRow) -> bool:
    return post.rating == "adult" or post.explicit


@dataclass(frozen=True)
class ViewerGate:
    """One request's caller against the age gate (looked up once, used for every post)."""

    principal: Principal
    requirement: str | None  # None: the gate is off on this node
    level: str
    place: str

    def sharp(self, post: PostRow) -> bool:
        """Whether the sharp media may be served (the caller already ``can_see`` the post)."""
        if post.status != "published":
            return False
        if is_staff_or_owner(post, self.principal):
            return True
        if self.requirement is not None:
            return not age_gated(post) or meets(self.level, self.requirement)
        return not post.explicit or self.principal.can(Permission.CONTENT_VIEW)

    def check_sharp(self, post: PostRow) -> None:
        """Raise the envelope error that says why the sharp media is refused."""
        if post.status != "published":
            raise MediaNotAvailable(
                "this post's media is not available", meta={"status": post.status}
            )
        if self.sharp(post):
            return
        if self.requirement is not None:
            raise AgeVerificationRequired(
                "this post is for adults: verify your age where you are",
                meta={
                    "requirement": self.requirement,
                    "current": self.level,
                    "place": self.place,
                    "signInRequired": self.principal.user_id is None,
                    "next": "/api/v1/me/age-declaration"
                    if self.requirement == "self_declared"
                    else "/api/v1/verification/records",
                },
            )
        raise ExplicitContent("explicit content: sign in with an adult account")


async def viewer_gate(
    app: web.Application, request: web.Request, principal: Principal
) -> ViewerGate:
    """The caller's level and the requirement where they are (one query, rules cached)."""
    gate = app[AGE_GATE]
    rules = await gate.rules()
    if rules is None:
        return ViewerGate(principal, None, "none", "")
    place = gate.place(request)
    level = await ages.age_level(app[POOL], principal.user_id)
    return ViewerGate(principal, rules.requirement(place), level, place)
