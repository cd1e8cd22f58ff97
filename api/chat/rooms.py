"""A chat room is a stream's: who owns it, who may read it, and its settings.

Pure decisions (`check_read`, `is_owner`) are apart from the one query that loads a room.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.chat.errors import AuthRequired, RoomForbidden, StreamNotFound
from api.chat.screening import SafetySettings
from api.streams.access import may_watch
from api.users.follows import is_follower
from teezu.db import Db

# (follower_id, creator_id) -> does follower follow creator?
FollowerCheck = Callable[[uuid.UUID, uuid.UUID], Awaitable[bool]]


def room_name(stream_id: uuid.UUID | str) -> str:
    """The Socket.IO room of a stream's chat."""
    return f"stream:{stream_id}"


def mods_room(stream_id: uuid.UUID | str) -> str:
    """The Socket.IO room of a stream's moderators who joined its chat (held messages)."""
    return f"mods:{stream_id}"


@dataclass(frozen=True, slots=True)
class RoomSettings:
    slow_mode: int = 0  # seconds between two messages of one sender; 0: off
    followers_only: bool = False
    review_mode: str | None = None  # off | hold | delay over the creator's; None: the creator's
    delay_seconds: int | None = None  # with review_mode delay; None: the creator's

    def wire(self) -> dict[str, Any]:
        return {
            "slowMode": self.slow_mode,
            "followersOnly": self.followers_only,
            "reviewMode": self.review_mode,
            "delaySeconds": self.delay_seconds,
        }


@dataclass(slots=True)
class Room:
    """A stream's chat room as this node knows it while it has members here."""

    stream_id: uuid.UUID
    visibility: str
    creator_handle: str
    creator_id: uuid.UUID | None
    settings: RoomSettings = RoomSettings()
    safety: SafetySettings = SafetySettings()  # the creator's (every room of theirs)
    banned: tuple[str, ...] = ()  # the creator's banned words, normalized
    frozen: bool = False  # the live stream is on the slate: only moderators may send
    frozen_reason: str | None = None
    # user id -> end of their timeout (kept fresh by the control channel while cached)
    muted: dict[uuid.UUID, datetime] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return room_name(self.stream_id)

    def screening(self) -> SafetySettings:
        """The creator's safety settings with this room's review mode over them."""
        if self.settings.review_mode is None:
            return self.safety
        return replace(
            self.safety,
            review_mode=self.settings.review_mode,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
            delay_seconds=self.settings.delay_seconds or self.safety.delay_seconds,
        )


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


async def load_room(db: Db, stream_id: uuid.UUID) -> Room:
    """The room of a stream with its settings; `StreamNotFound` if there is no such stream."""
    row = await db.fetchrow(
        "SELECT s.visibility, s.creator_handle, s.creator_id, "
        "coalesce(r.slow_mode_seconds, 0) AS slow_mode, "
        "coalesce(r.followers_only, false) AS followers_only, "
        "r.review_mode AS room_review_mode, r.delay_seconds AS room_delay_seconds, "
        "s.state = 'live' AND coalesce(f.frozen, false) AS frozen, f.frozen_reason, "
        f"{SAFETY_SELECT} "
        "FROM streams s LEFT JOIN chat_rooms r ON r.stream_id = s.id "
        "LEFT JOIN stream_safety f ON f.stream_id = s.id "
        "LEFT JOIN chat_safety_settings c ON c.creator_id = s.creator_id WHERE s.id = $1",
        stream_id,
    )
    if row is None:
        raise StreamNotFound("no such stream", meta={"streamId": str(stream_id)})
    creator_id = row["creator_id"]
    return Room(
        stream_id=stream_id,
        visibility=row["visibility"],
        creator_handle=row["creator_handle"],
        creator_id=creator_id,
        settings=RoomSettings(
            row["slow_mode"],
            row["followers_only"],
            row["room_review_mode"],
            row["room_delay_seconds"],
        ),
        safety=safety_of(row),
        banned=await load_banned(db, creator_id),
        frozen=row["frozen"],
        frozen_reason=row["frozen_reason"] if row["frozen"] else None,
    )


SAFETY_SELECT = (
    "c.profanity_action, c.profanity_threshold, c.banned_word_action, c.review_mode, "
    "c.delay_seconds"
)


def safety_of(row: Any) -> SafetySettings:
    """A creator's chat safety settings from a row of `SAFETY_SELECT` (defaults if none)."""
    if row is None or row["profanity_action"] is None:
        return SafetySettings()
    return SafetySettings(
        row["profanity_action"],
        round(float(row["profanity_threshold"]), 3),
        row["banned_word_action"],
        row["review_mode"],
        row["delay_seconds"],
    )


async def load_banned(db: Db, creator_id: uuid.UUID | None) -> tuple[str, ...]:
    """The creator's banned words, normalized (what messages are matched against)."""
    if creator_id is None:
        return ()
    rows = await db.fetch(
        "SELECT normalized FROM chat_banned_words WHERE creator_id = $1", creator_id
    )
    return tuple(r["normalized"] for r in rows)


def follows_of(db: Db) -> FollowerCheck:
    """The follower relation of the accounts half (``api.users.follows.is_follower``)."""

    async def check(follower_id: uuid.UUID, creator_id: uuid.UUID) -> bool:
        return await is_follower(db, follower_id, creator_id)

    return check
