"""A chat message as the REST API answers it (history, the review queue): the shape
`chat:messages` broadcasts."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from api.schema import Output


class ChatUser(Output):
    id: uuid.UUID
    handle: str
    badges: list[str] = Field(
        default_factory=list, description="membership badges by the name (live messages)"
    )


class ChatMessageOut(Output):
    """A chat message, as `chat:messages` broadcasts it."""

    id: uuid.UUID
    stream_id: uuid.UUID
    user: ChatUser
    text: str
    sent_at: datetime
