"""The direct messages' Socket.IO events and their payloads (client -> server), joined into
chat's ``api.chat.events.CLIENT_PAYLOADS``: the schema of every event the server takes."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from api.schema import Checked

SEND = "dm:send"
CLOSED = "dm:closed"  # server -> client {reason}: this connection gets no more direct messages
READ = "dm:read"
TYPING = "dm:typing"


class ConversationPayload(Checked):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    conversation_id: uuid.UUID = Field(alias="conversationId")


class SendPayload(ConversationPayload):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    price: int | None = Field(default=None, ge=1, le=100_000)


PAYLOADS: dict[str, type[Checked]] = {
    SEND: SendPayload,
    READ: ConversationPayload,
    TYPING: ConversationPayload,
}
