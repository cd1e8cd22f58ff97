"""A chat room is a stream's: who owns it, who may read it, and its settings.

Pure decisions (`check_read`, `is_owner`) are apart from the one query that loads a room.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.chat.errors import AuthRequired, RoomForbidden, StreamNotFound
from api.streams.access import may_watch
from api.users.follows import is_follower

# (follower_id, creator_id) -> does follower follow creator?
FollowerCheck = Callable[[uuid.UUID, uuid.UUID], Awaitable[bool]]


def room_name(stream_id: uuid.UUID | str) -> str:
    """The Socket.IO room of a stream's chat."""
    return f"stream:{stream_id}"


@dataclass(frozen=True, slots=True)
class RoomSettings:
    slow_mode: int = 0  # seconds between two messages of one sender; 0: off
    followers_only: bool = False

    def wire(self) -> dict[str, Any]:
        return {"slowMode": self.slow_mode, "followersOnly": self.followers_only}


@dataclass(slots=True)
class Room:
    """A stream's chat room as this node knows it while it has members here."""

    stream_id: uuid.UUID
    visibility: str
    creator_handle: str
    creator_id: uuid.UUID | None
    settings: RoomSettings = RoomSettings()
    # user id -> end of their timeout (kept fresh by the control channel while cached)
    muted: dict[uuid.UUID, datetime] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return room_name(self.stream_id)


def is_owner(principal: Principal, room: Room) -> bool:
    """The principal's account created the room's stream (as the playback policy reads it:
    a stream not linked to an account has no owner here)."""
    return room.creator_id is not None and principal.user_id == room.creator_id


def check_read(
    principal: Principal, room: Room, *, follows: bool, subscribed: bool = False
) -> None:
    """Raise unless the principal may read the room (join it, read its history).

    The rule is the streams' playback policy (`api.streams.access.may_watch`): public rooms are
    open to everyone, anonymous included; followers-only ones to followers; subscriber ones to
    live subscribers (``subscribed``: `api.subscriptions.access.is_subscriber`); ticketed
    ones, for now, to the owner. Site moderators (``MODERATE_ALL``, admins included)
    read every room they may have to moderate.
    """
    if room.visibility == "public":
        return
    if not principal.authenticated:
        raise AuthRequired("sign in to join this room", meta={"visibility": room.visibility})
    admin = principal.can(Permission.MODERATE_ALL)
    if not may_watch(
        room.visibility,
        owner=is_owner(principal, room),
        admin=admin,
        follower=follows,
        subscriber=subscribed,
    ):
        raise RoomForbidden(
            f"this room is for {room.visibility}", meta={"visibility": room.visibility}
        )


async def load_room(db: Any, stream_id: uuid.UUID) -> Room:
    """The room of a stream with its settings; `StreamNotFound` if there is no such stream."""
    row = await db.fetchrow(
        "SELECT s.visibility, s.creator_handle, s.creator_id, "
        "coalesce(r.slow_mode_seconds, 0) AS slow_mode, "
        "coalesce(r.followers_only, false) AS followers_only "
        "FROM streams s LEFT JOIN chat_rooms r ON r.stream_id = s.id WHERE s.id = $1",
        stream_id,
    )
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    return Room(
        stream_id=stream_id,
        visibility=row["visibility"],
        creator_handle=row["creator_handle"],
        creator_id=row["creator_id"],
        settings=RoomSettings(row["slow_mode"], row["followers_only"]),
    )


def follows_of(db: Any) -> FollowerCheck:
    """The follower relation of the accounts half (``api.users.follows.is_follower``)."""

    async def check(follower_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
        return await is_follower(db, follower_id, creator_id)

    return check
