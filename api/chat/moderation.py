"""Who may moderate a room and who may send in it: pure decisions, no I/O.

`MODERATE_ALL` (moderators, admins) works in every room; `MODERATE_OWN` (creators, providers)
only in the room of a stream the principal owns.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from api.auth.principal import Principal
from api.auth.ranks import check_may_act
from api.auth.rbac import Permission, Role
from api.chat.errors import (
    AuthRequired,
    ChatForbidden,
    FollowersOnly,
    ModerationForbidden,
    TimedOut,
)
from api.chat.rooms import Room, is_owner


def can_moderate(principal: Principal, room: Room) -> bool:
    if principal.can(Permission.MODERATE_ALL):
        return True
    return principal.can(Permission.MODERATE_OWN) and is_owner(principal, room)


def check_moderator(principal: Principal, room: Room) -> uuid.UUID:
    """The moderator's user id; raises unless the principal may moderate this room."""
    if principal.user_id is None:
        raise AuthRequired("sign in to moderate")
    if not can_moderate(principal, room):
        raise ModerationForbidden(
            "only the stream's creator and moderators can do this",
            meta={"streamId": str(room.stream_id)},
        )
    return principal.user_id


def check_target(
    moderator: Principal, room: Room, target: uuid.UUID, target_roles: Iterable[Role]
) -> None:
    """A room's owner is never restricted in their own room (a site moderator freezes the
    stream instead); otherwise the rank rule (`api.auth.rbac`): nobody restricts themselves or
    an account of an equal or higher role, and a creator in their own room outranks their
    audience only."""
    if room.creator_id is not None and target == room.creator_id and target != moderator.user_id:
        raise ModerationForbidden("the stream's creator cannot be restricted in their room")
    owner = moderator.can(Permission.MODERATE_OWN) and is_owner(moderator, room)
    check_may_act(moderator, target, target_roles, action="chat.restrict", room_owner=owner)


def check_may_chat(principal: Principal) -> uuid.UUID:
    """The sender's user id; raises unless the principal's roles include chatting."""
    if principal.user_id is None:
        raise AuthRequired("sign in to chat")
    if not principal.can(Permission.CHAT):
        raise ChatForbidden("your account cannot chat yet")
    return principal.user_id


def check_not_muted(room: Room, user_id: uuid.UUID, now: datetime) -> None:
    until = room.muted.get(user_id)
    if until is None:
        return
    if until <= now:
        del room.muted[user_id]
        return
    raise TimedOut(
        "you are timed out in this room",
        retry_after=seconds_until(until, now),
        meta={"until": until.isoformat()},
    )


def check_followers_only(room: Room, *, exempt: bool, follows: bool) -> None:
    if room.settings.followers_only and not exempt and not follows:
        raise FollowersOnly("only followers can chat in this room right now")


def restriction_end(now: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


def seconds_until(until: datetime, now: datetime) -> int:
    """Whole seconds to wait (at least 1), for ``retryAfter``."""
    return max(1, math.ceil((until - now).total_seconds()))
