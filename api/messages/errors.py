"""The caller-visible errors of direct messages."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Forbidden, Invalid, NotFound


class ConversationNotFound(NotFound):
    """Also what anyone outside the conversation gets."""

    code = "CONVERSATION_NOT_FOUND"


CONVERSATION_ID = IdParam(ConversationNotFound, "no such conversation", "conversationId")


class CannotMessageSelf(Invalid):
    code = "CANNOT_MESSAGE_SELF"


class MessageBlocked(Invalid):
    """The recipient's chat filter or banned words refuse the message."""

    code = "MESSAGE_BLOCKED"


class CannotPriceMessage(Forbidden):
    """Only accounts that sell content (creators) may ask a price for a message."""

    code = "CANNOT_PRICE_MESSAGE"


class MessageNotFound(NotFound):
    code = "MESSAGE_NOT_FOUND"


class NotForSale(Invalid):
    """The message has no price, or it is the caller's own."""

    code = "MESSAGE_NOT_FOR_SALE"


class AttachmentNotAvailable(NotFound):
    """Not (yet) deliverable: still being scanned, held, or rejected."""

    code = "ATTACHMENT_NOT_AVAILABLE"


class AttachmentNotFound(NotFound):
    code = "ATTACHMENT_NOT_FOUND"
