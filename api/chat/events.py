"""Socket.IO event names, the payloads clients send (pydantic), and the shapes sent back.

Every client→server event is acknowledged with ``{"ok": true, ...}`` or
``{"ok": false, "code": "...", "message": "...", "retryAfter"?: s, "meta"?: {...}}``; the codes
are the ones of `api.chat.errors`, shared with the REST envelope.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from api.chat.errors import InvalidPayload
from api.engagement.events import PAYLOADS as ENGAGEMENT_PAYLOADS
from api.messages.events import PAYLOADS as DM_PAYLOADS
from api.schema import Checked
from teezu.errors import TeezuError

# client → server (each acknowledged)
JOIN = "chat:join"
LEAVE = "chat:leave"
SEND = "chat:send"
TYPING = "chat:typing"
PRESENCE = "chat:presence"
DELETE = "chat:delete"  # the older name of chat:remove
REMOVE = "chat:remove"
REVIEW = "chat:review"  # list the room's held messages (moderators)
APPROVE = "chat:approve"  # deliver a held message (moderators)
TIMEOUT = "chat:timeout"
BAN = "chat:ban"
UNBAN = "chat:unban"
MODE = "chat:mode"
SAFE_WORD = "safe_word"  # {streamId}: freeze the live stream (performers, moderators)

# server → client
MESSAGES = "chat:messages"  # {streamId, messages: [message, ...]} (a batch per room per tick)
REMOVED = "chat:removed"  # {streamId, messageId}: a delivered message is gone for everyone
HELD = "chat:held"  # {streamId, message, reasons, releaseAt}: to the room's moderators
RELEASED = "chat:released"  # {streamId, messageId, removed}: a held one left the queue (mods)
SAFETY = "chat:safety"  # {streamId, reviewMode}: the creator's safety settings or words changed
FROZEN = "chat:frozen"  # {streamId, frozen, reason}: the stream was frozen (or unfrozen)
TYPING_NOTICE = "chat:typing"  # {streamId, user}
VIEWERS = "chat:viewers"  # {streamId, count}
SETTINGS = "chat:settings"  # {streamId, slowMode, followersOnly, reviewMode, delaySeconds}
RESTRICTED = "chat:restricted"  # {streamId, userId, kind, until}: to the room
BANNED = "chat:banned"  # {streamId, reason, until}: to the banned user's sockets
# The stream's money channel (api.wallet.events), relayed as "money:" + its type: money:tip,
# money:goal.progress, money:goal.completed, money:unlockable.unlocked, each
# {streamId, ...the channel's message}.
MONEY_PREFIX = "money:"

MAX_MESSAGE_LENGTH = 500


class _Payload(Checked):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    stream_id: uuid.UUID = Field(alias="streamId")


class RoomPayload(_Payload):
    """``chat:join``, ``chat:leave``, ``chat:typing``, ``chat:presence``."""


class SendPayload(_Payload):
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_LENGTH)
    ]


class MessagePayload(_Payload):
    """``chat:remove`` (``chat:delete``), ``chat:approve``."""

    message_id: uuid.UUID = Field(alias="messageId")


class RestrictPayload(_Payload):
    """``chat:timeout`` (``seconds`` required) and ``chat:ban`` (``seconds`` absent: for good)."""

    user_id: uuid.UUID = Field(alias="userId")
    seconds: int | None = Field(default=None, ge=1, le=30 * 24 * 3600)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""


class ReviewPayload(_Payload):
    """``chat:review``: a page of held messages, oldest first."""

    after: uuid.UUID | None = Field(default=None, description="the last id of the previous page")
    limit: int = Field(default=50, ge=1, le=100)


class UnbanPayload(_Payload):
    user_id: uuid.UUID = Field(alias="userId")


class ModePayload(_Payload):
    slow_mode: int | None = Field(default=None, alias="slowMode", ge=0, le=3600)
    followers_only: bool | None = Field(default=None, alias="followersOnly")
    # this room's review mode over the creator's; "default": the creator's again
    review_mode: Literal["off", "hold", "delay", "default"] | None = Field(
        default=None, alias="reviewMode"
    )
    delay_seconds: int | None = Field(default=None, alias="delaySeconds", ge=1, le=300)


# The payload of every client→server event: the events' schema (the Socket.IO counterpart of
# the OpenAPI document; tests read it, e.g. for fields that carry passwords). A test checks
# that every event the server handles is listed. A payload with an ``idempotency_key`` field
# moves money (as a REST call with an ``Idempotency-Key`` does), and the kill switch's test
# then covers it during a freeze (tests/integration/wallet/test_kill_switch.py).
CLIENT_PAYLOADS: dict[str, type[Checked]] = {
    JOIN: RoomPayload,
    LEAVE: RoomPayload,
    SEND: SendPayload,
    TYPING: RoomPayload,
    PRESENCE: RoomPayload,
    DELETE: MessagePayload,
    REMOVE: MessagePayload,
    REVIEW: ReviewPayload,
    APPROVE: MessagePayload,
    TIMEOUT: RestrictPayload,
    BAN: RestrictPayload,
    UNBAN: UnbanPayload,
    MODE: ModePayload,
    SAFE_WORD: RoomPayload,
    **ENGAGEMENT_PAYLOADS,  # mood votes, polls, duels, StripSync (api.engagement)
    **DM_PAYLOADS,  # direct messages (api.messages)
}


def moves_money(event: str) -> bool:
    """Does the client event ``event`` spend (its payload carries an idempotency key)?"""
    return "idempotency_key" in CLIENT_PAYLOADS[event].model_fields


P = TypeVar("P", bound=BaseModel)


def parse(model: type[P], data: Any) -> P:
    """Validate a client payload; any problem is an `InvalidPayload` listing the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])) or "payload", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidPayload("invalid payload", meta={"errors": errors}) from None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message as stored and as broadcast."""

    id: uuid.UUID
    stream_id: uuid.UUID
    user_id: uuid.UUID
    handle: str
    text: str
    sent_at: datetime
    held: bool = False  # stored, delivered to nobody yet (see api.chat.screening)
    release_at: datetime | None = None  # a held message's end of delay (None: a moderator's call)
    # The sender's membership badges when sent (api.memberships.plans), shown by their name;
    # live delivery only: history read back from the database has none.
    badges: tuple[str, ...] = ()

    def wire(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": str(self.user_id), "handle": self.handle}
        if self.badges:
            user["badges"] = list(self.badges)
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "user": user,
            "text": self.text,
            "sentAt": self.sent_at.isoformat(timespec="milliseconds"),
        }


def ack_ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def ack_error(exc: TeezuError) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "code": exc.code, "message": exc.message}
    if exc.retry_after is not None:
        body["retryAfter"] = exc.retry_after
    if exc.meta:
        body["meta"] = exc.meta
    return body
