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
    ticket_holder: bool = False,
) -> bool:
    """``public``: anyone. ``followers``: followers. ``subscribers``: live subscribers
    (`api.subscriptions.access.is_subscriber`: active or in grace). ``ticketed``: holders of a
    ticket to the show running now. The creator, admins and site moderators always."""
    if visibility == "public" or owner or admin or moderator:
        return True
    if visibility == "followers":
        return follower
    if visibility == "subscribers":
        return subscriber
    if visibility == "ticketed":
        return ticket_holder
    return False


def effective_visibility(visibility: str, *, ticket_show_running: bool) -> str:
    """While a ticket show runs, the stream is ``ticketed`` whatever its own setting."""
    return "ticketed" if ticket_show_running else visibility
