"""``GET /api/v1/streams/{id}/chat?before=&limit=``: a room's history, newest page first."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from api.chat.outputs import ChatMessageOut
from api.chat.rooms import check_read, load_room
from api.keys import POOL
from api.realtime import CHAT
from api.routing import Api, Call, Page
from api.schema import Input
from api.streams.errors import STREAM_ID
from api.subscriptions.access import is_subscriber

api = Api("chat")


class HistoryQuery(Input):
    before: uuid.UUID | None = Field(
        default=None, description="id of the oldest message already shown (a page's nextCursor)"
    )
    limit: int = Field(default=50, ge=1, le=100)


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/chat",
    summary="A stream's chat history, a page at a time back in time (oldest first in a page)",
    query=HistoryQuery,
    response=ChatMessageOut,
    paginated=True,
    errors=(401, 403),
    path_formats={"stream_id": STREAM_ID},
)
async def chat_history(call: Call[None, HistoryQuery]) -> Page[dict[str, Any]]:
    """Deleted messages are left out; ``nextCursor`` is the ``before`` of the previous page
    (null at the start). Non-public rooms need the same access as joining them."""
    stream_id = call.id("stream_id")
    principal = call.principal
    room = await load_room(call.app[POOL], stream_id)
    chat = call.app[CHAT]
    follows = False
    if room.visibility == "followers" and principal.user_id and room.creator_id:
        follows = await chat.followers(principal.user_id, room.creator_id)
    subscribed = room.visibility == "subscribers" and await is_subscriber(
        call.app[POOL], principal.user_id, room.creator_id
    )
    check_read(principal, room, follows=follows, subscribed=subscribed)
    q = call.query
    page = await chat.history.page(stream_id, before=q.before, limit=q.limit)
    # The broadcast shape itself, so history and live messages compare equal.
    return Page(
        [m.wire() for m in reversed(page)], str(page[-1].id) if len(page) == q.limit else None
    )
