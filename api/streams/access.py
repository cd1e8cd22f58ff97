"""Who may watch a stream, by its visibility and the viewer's relation to it. Pure."""

from __future__ import annotations


def may_watch(visibility: str, *, owner: bool, admin: bool, follower: bool) -> bool:
    """``public``: anyone. ``followers``: followers, the creator, admins. ``subscribers`` and
    ``ticketed``: the creator and admins only, until subscriptions and tickets exist (the
    payments issue); then subscribers and ticket holders join here."""
    if visibility == "public" or owner or admin:
        return True
    if visibility == "followers":
        return follower
    return False
