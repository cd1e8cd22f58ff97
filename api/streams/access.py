"""Who may watch a stream, by its visibility and the viewer's relation to it. Pure."""

from __future__ import annotations


def may_watch(
    visibility: str,
    *,
    owner: bool,
    admin: bool,
    follower: bool,
    subscriber: bool = False,
    moderator: bool = False,
) -> bool:
    """``public``: anyone. ``followers``: followers, the creator, admins and site moderators.
    ``subscribers``: live subscribers (`api.subscriptions.access.is_subscriber`: active or in
    grace), the creator, admins and site moderators. ``ticketed``: the creator, admins and site
    moderators only, until tickets exist."""
    if visibility == "public" or owner or admin or moderator:
        return True
    if visibility == "followers":
        return follower
    if visibility == "subscribers":
        return subscriber
    return False
