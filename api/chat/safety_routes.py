"""Chat safety over REST: a creator's filter settings and banned words, and the review queue.

``/api/v1/chat/safety`` and ``/api/v1/chat/banned-words`` are the caller's own (a creator's:
they apply in every room of the caller's streams). The held-message routes are for whoever may
moderate the room (`api.chat.moderation.check_moderator`) and do what the ``chat:review``,
``chat:approve`` and ``chat:remove`` Socket.IO events do.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.auth.rbac import Permission
from api.chat import store
from api.chat.errors import (
    MESSAGE_ID,
    WORD_ID,
    BannedWordExists,
    BannedWordNotFound,
    BannedWordsFull,
    InvalidBannedWord,
    MessageNotFound,
)
from api.chat.moderation import check_moderator
from api.chat.normalize import normalize_word
from api.chat.outputs import ChatMessageOut
from api.chat.rooms import Room, load_room
from api.chat.service import held_wire
from api.keys import POOL
from api.realtime import CHAT
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams.errors import STREAM_ID

api = Api("chat")
ROOM_PATH = {"stream_id": STREAM_ID}


class SafetyIn(Input):
    """Fields left out keep their value."""

    profanity_action: Literal["off", "block", "hold", "mask"] | None = Field(
        default=None, description="what the profanity classifier does to a message it flags"
    )
    profanity_threshold: float | None = Field(
        default=None, ge=0.05, le=1, description="classifier score (0-1) from which it flags"
    )
    banned_word_action: Literal["block", "hold", "mask"] | None = None
    review_mode: Literal["off", "hold", "delay"] | None = Field(
        default=None,
        description="hold: every message waits for a moderator; delay: goes out after "
        "delaySeconds unless removed",
    )
    delay_seconds: int | None = Field(default=None, ge=1, le=300)


class SafetyOut(Output):
    profanity_action: str
    profanity_threshold: float
    banned_word_action: str
    review_mode: str
    delay_seconds: int


class BannedWordIn(Input):
    word: str = Field(min_length=1, max_length=100)


class BannedWordOut(Output):
    id: uuid.UUID
    word: str
    normalized: str = Field(description="what messages are matched against")
    created_at: datetime


class PageQuery(Input):
    after: uuid.UUID | None = Field(default=None, description="a page's nextCursor")
    limit: int = Field(default=50, ge=1, le=100)


class HeldMessageOut(ChatMessageOut):
    release_at: datetime | None = Field(
        description="when it goes out by itself (delay mode); null: waits for a moderator"
    )


class RemovedOut(Output):
    stream_id: uuid.UUID
    message_id: uuid.UUID
    was_held: bool = Field(description="it was still held: nobody saw it")


def _safety_out(s: Any) -> SafetyOut:
    return SafetyOut(
        profanity_action=s.profanity_action,
        profanity_threshold=s.profanity_threshold,
        banned_word_action=s.banned_word_action,
        review_mode=s.review_mode,
        delay_seconds=s.delay_seconds,
    )


def _word_out(w: store.BannedWord) -> BannedWordOut:
    return BannedWordOut(id=w.id, word=w.word, normalized=w.normalized, created_at=w.created_at)


@api.route(
    "GET",
    "/api/v1/chat/safety",
    summary="My chat safety settings (profanity filter, banned-word action, review mode)",
    response=SafetyOut,
    permission=Permission.MODERATE_OWN,
)
async def get_safety(call: Call[None, None]) -> SafetyOut:
    assert call.principal.user_id is not None
    return _safety_out(await store.get_safety(call.app[POOL], call.principal.user_id))


@api.route(
    "PATCH",
    "/api/v1/chat/safety",
    summary="Change my chat safety settings (every room of my streams, at once on every node)",
    body=SafetyIn,
    response=SafetyOut,
    permission=Permission.MODERATE_OWN,
)
async def change_safety(call: Call[SafetyIn, None]) -> SafetyOut:
    assert call.principal.user_id is not None
    changes = call.body.model_dump(exclude_none=True)
    saved = await store.save_safety(call.app[POOL], call.principal.user_id, changes)
    await call.app[CHAT].creator_safety_changed(call.principal.user_id)
    return _safety_out(saved)


@api.route(
    "GET",
    "/api/v1/chat/banned-words",
    summary="My banned words, oldest first",
    query=PageQuery,
    response=BannedWordOut,
    paginated=True,
    permission=Permission.MODERATE_OWN,
)
async def list_banned_words(call: Call[None, PageQuery]) -> Page[BannedWordOut]:
    assert call.principal.user_id is not None
    q = call.query
    rows = await store.banned_word_page(
        call.app[POOL], call.principal.user_id, after=q.after, limit=q.limit
    )
    return Page([_word_out(w) for w in rows], str(rows[-1].id) if len(rows) == q.limit else None)


@api.route(
    "POST",
    "/api/v1/chat/banned-words",
    summary="Ban a word in my rooms (matched ignoring case, accents, leetspeak, repeats, spacing)",
    status=201,
    body=BannedWordIn,
    response=BannedWordOut,
    permission=Permission.MODERATE_OWN,
    errors=(409,),
)
async def add_banned_word(call: Call[BannedWordIn, None]) -> BannedWordOut:
    creator = call.principal.user_id
    assert creator is not None
    word = call.body.word.strip()
    normalized = normalize_word(word)
    if not normalized:
        raise InvalidBannedWord("a banned word needs at least one letter or digit")
    if len(normalized) > 100:
        raise InvalidBannedWord("a banned word is at most 100 letters")
    db = call.app[POOL]
    added = await store.add_banned_word(db, creator, word, normalized)
    if added is None:
        if await store.count_banned_words(db, creator) >= store.MAX_BANNED_WORDS:
            raise BannedWordsFull(
                f"at most {store.MAX_BANNED_WORDS} banned words",
                meta={"max": store.MAX_BANNED_WORDS},
            )
        raise BannedWordExists(
            "this word is already banned (as written or in another spelling)",
            meta={"normalized": normalized},
        )
    await call.app[CHAT].creator_safety_changed(creator)
    return _word_out(added)


@api.route(
    "DELETE",
    "/api/v1/chat/banned-words/{word_id}",
    summary="Allow a banned word again",
    status=204,
    permission=Permission.MODERATE_OWN,
    path_formats={"word_id": WORD_ID},
)
async def remove_banned_word(call: Call[None, None]) -> None:
    creator = call.principal.user_id
    assert creator is not None
    word_id = call.id("word_id")
    if not await store.remove_banned_word(call.app[POOL], creator, word_id):
        raise BannedWordNotFound("no such banned word of yours", meta={"wordId": str(word_id)})
    await call.app[CHAT].creator_safety_changed(creator)


async def _moderated_room(call: Call[Any, Any]) -> tuple[Room, uuid.UUID]:
    room = await load_room(call.app[POOL], call.id("stream_id"))
    return room, check_moderator(call.principal, room)


@api.route(
    "GET",
    "/api/v1/streams/{stream_id}/chat/held",
    summary="A room's held messages, oldest first (the room's moderators)",
    query=PageQuery,
    response=HeldMessageOut,
    paginated=True,
    auth=True,
    errors=(403,),
    path_formats=ROOM_PATH,
)
async def held_messages(call: Call[None, PageQuery]) -> Page[dict[str, Any]]:
    room, _ = await _moderated_room(call)
    q = call.query
    held = await call.app[CHAT].history.held(room.stream_id, after=q.after, limit=q.limit)
    return Page([held_wire(m) for m in held], str(held[-1].id) if len(held) == q.limit else None)


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/chat/messages/{message_id}/approve",
    summary="Deliver a held message now (the room's moderators)",
    response=ChatMessageOut,
    auth=True,
    errors=(403, 409),
    path_formats={**ROOM_PATH, "message_id": MESSAGE_ID},
)
async def approve_message(call: Call[None, None]) -> dict[str, Any]:
    room, moderator = await _moderated_room(call)
    message = await call.app[CHAT].approve_message(
        room.stream_id, call.id("message_id"), by=moderator
    )
    return message.wire()


@api.route(
    "DELETE",
    "/api/v1/streams/{stream_id}/chat/messages/{message_id}",
    summary="Remove a message for everyone: a held one is never delivered (the room's moderators)",
    response=RemovedOut,
    auth=True,
    errors=(403,),
    path_formats={**ROOM_PATH, "message_id": MESSAGE_ID},
)
async def remove_message(call: Call[None, None]) -> RemovedOut:
    room, moderator = await _moderated_room(call)
    message_id = call.id("message_id")
    removed = await call.app[CHAT].remove_message(room.stream_id, message_id, by=moderator)
    if removed is None:
        raise MessageNotFound("no such message in this room", meta={"messageId": str(message_id)})
    return RemovedOut(stream_id=room.stream_id, message_id=message_id, was_held=removed.was_held)
