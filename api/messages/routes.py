"""``/api/v1/conversations``: direct messages between two accounts, with read state.

* Sending needs ``dm.send`` (members and up: anonymous viewers cannot); accounts that blocked
  each other cannot message (``BLOCKED``), nor may anyone message themself.
* A message goes through the recipient's chat filter and banned words (``api.chat.screening``):
  ``block`` and ``hold`` refuse it (``MESSAGE_BLOCKED``: a direct message has no moderator
  queue), ``mask`` stars the words (``metadata.masked``).
* History is newest first with a keyset cursor; reading marks the other side's messages
  ``read`` (their sender sees the read receipt in ``readState``/``readAt``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api import cursors
from api.auth.rbac import Permission
from api.blocks import store as blocks
from api.blocks.errors import Blocked
from api.chat import rooms
from api.chat import store as chat
from api.chat.screening import Verdict, screen
from api.keys import POOL
from api.memberships.allowance import check_dm_allowance
from api.messages import store
from api.messages.errors import (
    CONVERSATION_ID,
    CannotMessageSelf,
    ConversationNotFound,
    MessageBlocked,
)
from api.routing import Api, Call, Page, RateLimit
from api.schema import Input, Output
from api.users import store as users
from api.users.errors import UserNotFound

api = Api("messages")

UUID_CONVERSATION = {"conversation_id": CONVERSATION_ID}


class OpenConversation(Input):
    handle: str = Field(min_length=3, max_length=30, description="Whom to talk to")


class MessageIn(Input):
    text: str = Field(min_length=1, max_length=2000)


class HistoryQuery(Input):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class ConversationQuery(Input):
    limit: int = Field(default=50, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=100_000)


class ConversationOut(Output):
    id: uuid.UUID
    other_id: uuid.UUID | None = Field(description="None once the other account is erased")
    other_handle: str | None
    last_message_at: datetime
    last_text: str | None
    unread: int


class MessageOut(Output):
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    mine: bool
    text: str
    masked: bool
    read_state: Literal["sent", "read"]
    read_at: datetime | None
    created_at: datetime


class ReadOut(Output):
    marked: int = Field(description="Messages that turned read")


def message_out(m: store.MessageRow, me: uuid.UUID) -> MessageOut:
    return MessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        sender_id=m.sender_id,
        mine=m.sender_id == me,
        text=m.body,
        masked=bool(m.metadata.get("masked")),
        read_state=m.read_state,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        read_at=m.read_at,
        created_at=m.created_at,
    )


def _me(call: Call[Any, Any]) -> uuid.UUID:
    me = call.principal.user_id
    assert me is not None
    return me


async def _other(call: Call[Any, Any]) -> tuple[uuid.UUID, uuid.UUID | None]:
    cid = call.id("conversation_id")
    try:
        return cid, await store.other_member(call.app[POOL], cid, _me(call))
    except LookupError:
        raise ConversationNotFound(
            "no such conversation", meta={"conversationId": str(cid)}
        ) from None


async def _screen(call: Call[Any, Any], recipient: uuid.UUID, text: str) -> Verdict:
    from api.realtime import CHAT  # api.realtime imports route modules' errors

    db = call.app[POOL]
    safety = await chat.get_safety(db, recipient)
    banned = await rooms.load_banned(db, recipient)
    service = call.app.get(CHAT)
    if service is not None:
        return await service.scorer.screen(text, safety, banned)
    return await asyncio.to_thread(screen, text, safety, banned, [])


@api.route(
    "POST",
    "/api/v1/conversations",
    summary="Open (or find) my conversation with an account",
    body=OpenConversation,
    response=ConversationOut,
    permission=Permission.DM,
    errors=(403, 404, 422),
)
async def open_conversation(call: Call[OpenConversation, None]) -> ConversationOut:
    me = _me(call)
    db = call.app[POOL]
    user = await users.get_by_handle(db, call.body.handle)
    if user is None:
        raise UserNotFound("no such user", meta={"handle": call.body.handle})
    if user.id == me:
        raise CannotMessageSelf("you cannot message yourself")
    if await blocks.between(db, me, user.id):
        raise Blocked("one of you blocked the other", meta={"handle": user.handle})
    cid = await store.open_with(db, me, user.id)
    (row,) = await store.mine(db, me, limit=1, offset=0, only=cid)
    return ConversationOut(**row.__dict__)


@api.route(
    "GET",
    "/api/v1/conversations",
    summary="My conversations, latest activity first, with unread counts",
    query=ConversationQuery,
    response=ConversationOut,
    paginated=True,
    auth=True,
)
async def list_conversations(call: Call[None, ConversationQuery]) -> Page[ConversationOut]:
    q = call.query
    rows = await store.mine(call.app[POOL], _me(call), limit=q.limit, offset=q.offset)
    items = [ConversationOut(**r.__dict__) for r in rows]
    return Page(items, str(q.offset + q.limit) if len(rows) == q.limit else None)


@api.route(
    "GET",
    "/api/v1/conversations/{conversation_id}/messages",
    summary="A conversation's messages, newest first (keyset cursor)",
    query=HistoryQuery,
    response=MessageOut,
    paginated=True,
    auth=True,
    path_formats=UUID_CONVERSATION,
)
async def conversation_history(call: Call[None, HistoryQuery]) -> Page[MessageOut]:
    cid, _ = await _other(call)
    q = call.query
    rows = await store.history(call.app[POOL], cid, limit=q.limit, before=cursors.decode(q.cursor))
    more = cursors.encode(rows[-1].created_at, rows[-1].id) if len(rows) == q.limit else None
    me = _me(call)
    return Page([message_out(m, me) for m in rows], more)


@api.route(
    "POST",
    "/api/v1/conversations/{conversation_id}/messages",
    summary="Send a message (the recipient's chat filter applies)",
    status=201,
    body=MessageIn,
    response=MessageOut,
    permission=Permission.DM,
    rate_limit=RateLimit(60, 60, setting="message_rate_limit"),
    path_formats=UUID_CONVERSATION,
    errors=(403, 429),
)
async def send_message(call: Call[MessageIn, None]) -> MessageOut:
    cid, other = await _other(call)
    me = _me(call)
    db = call.app[POOL]
    if other is None:
        raise ConversationNotFound("the other account no longer exists")
    if await blocks.between(db, me, other):
        raise Blocked("one of you blocked the other")
    await check_dm_allowance(db, call.principal)  # the membership's daily allowance
    verdict = await _screen(call, other, call.body.text)
    if verdict.action in ("block", "hold"):
        raise MessageBlocked("this message is not allowed", meta={"reasons": list(verdict.reasons)})
    meta = {"masked": True} if verdict.action == "mask" else {}
    async with db.acquire() as conn, conn.transaction():
        row = await store.send(conn, cid, me, verdict.text, meta)
    return message_out(row, me)


@api.route(
    "POST",
    "/api/v1/conversations/{conversation_id}/read",
    summary="Mark the other side's messages read (their read receipts)",
    response=ReadOut,
    auth=True,
    path_formats=UUID_CONVERSATION,
)
async def mark_read(call: Call[None, None]) -> ReadOut:
    cid, _ = await _other(call)
    return ReadOut(marked=await store.mark_read(call.app[POOL], cid, _me(call)))
