"""The caller-visible errors of direct messages."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Invalid, NotFound


class ConversationNotFound(NotFound):
    """Also what anyone outside the conversation gets."""

    code = "CONVERSATION_NOT_FOUND"


CONVERSATION_ID = IdParam(ConversationNotFound, "no such conversation", "conversationId")


class CannotMessageSelf(Invalid):
    code = "CANNOT_MESSAGE_SELF"


class MessageBlocked(Invalid):
    """The recipient's chat filter or banned words refuse the message."""

    code = "MESSAGE_BLOCKED"
