"""Every refusal chat can give, each with its stable code.

The same classes serve the REST history endpoint (through `api.envelope`) and Socket.IO acks
(through `api.chat.events.ack_error`), so a code means the same thing on both.
"""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TeezuError,
    Unauthorized,
    Unavailable,
)


class ChatError(TeezuError):
    """Root of the chat package's errors."""


class InvalidPayload(ChatError, BadRequest):
    code = "VALIDATION_ERROR"


class StreamNotFound(ChatError, NotFound):
    code = "STREAM_NOT_FOUND"


class MessageNotFound(ChatError, NotFound):
    code = "MESSAGE_NOT_FOUND"


class UserNotFound(ChatError, NotFound):
    code = "USER_NOT_FOUND"


class AuthRequired(ChatError, Unauthorized):
    """Anonymous callers may read public rooms only."""

    code = "AUTH_REQUIRED"


class ChatForbidden(ChatError, Forbidden):
    """The principal's roles do not include chatting (the viewer role)."""

    code = "CHAT_FORBIDDEN"


class RoomForbidden(ChatError, Forbidden):
    """The room belongs to a non-public stream this principal may not watch."""

    code = "ROOM_FORBIDDEN"


class NotInRoom(ChatError):
    status = 409
    code = "NOT_IN_ROOM"


class Banned(ChatError, Forbidden):
    code = "BANNED"


class TimedOut(ChatError, Forbidden):
    code = "TIMED_OUT"


class FollowersOnly(ChatError, Forbidden):
    code = "FOLLOWERS_ONLY"


class ModerationForbidden(ChatError, Forbidden):
    code = "MODERATION_FORBIDDEN"


class RateLimited(ChatError):
    status = 429
    code = "RATE_LIMITED"


class SlowMode(ChatError):
    status = 429
    code = "SLOW_MODE"


class ChatFrozen(ChatError, Conflict):
    """The live stream is frozen (safe word, moderation): only moderators may send."""

    code = "CHAT_FROZEN"


class MessageBlocked(ChatError, Invalid):
    """The creator's banned words or the profanity filter refused the message."""

    code = "MESSAGE_BLOCKED"


class MessageNotHeld(ChatError, Conflict):
    """Approving a message that is not waiting (already delivered, removed, or released)."""

    code = "MESSAGE_NOT_HELD"


class BannedWordExists(ChatError, Conflict):
    code = "BANNED_WORD_EXISTS"


class BannedWordsFull(ChatError, Conflict):
    code = "BANNED_WORDS_FULL"


class InvalidBannedWord(ChatError, Invalid):
    code = "INVALID_BANNED_WORD"


class BannedWordNotFound(ChatError, NotFound):
    code = "BANNED_WORD_NOT_FOUND"


class SafeWordUnavailable(ChatError, Unavailable):
    """This process's chat was built without the safe word (never in the app)."""

    code = "SAFE_WORD_UNAVAILABLE"


# ``{message_id}`` and ``{word_id}`` in a path: malformed ones are unknown ones.
MESSAGE_ID = IdParam(MessageNotFound, "no such message in this room", "messageId")
WORD_ID = IdParam(BannedWordNotFound, "no such banned word of yours", "wordId")
