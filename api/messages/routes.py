"""``/api/v1/conversations``: direct messages between two accounts, with read state.

* Sending needs ``dm.send`` (members and up: anonymous viewers cannot); accounts that blocked
  each other cannot message (``BLOCKED``), nor may anyone message themself.
* A message goes through the recipient's chat filter and banned words (``api.chat.screening``):
  ``block`` and ``hold`` refuse it (``MESSAGE_BLOCKED``: a direct message has no moderator
  queue), ``mask`` stars the words (``metadata.masked``).
* History is newest first with a keyset cursor; reading marks the other side's messages
  ``read`` (their sender sees the read receipt in ``readState``/``readAt``, and at once on
  Socket.IO: ``dm:read``).
* A creator may ask a price for a message: the recipient sees it ``locked`` (no text) until
  they unlock it, paying once (`api.messages.unlock`).
* Sent messages, receipts and typing are pushed over Socket.IO too (`api.messages.realtime`);
  REST stays the way to read history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api import cursors
from api.auth.rbac import Permission
from api.blocks import store as blocks
from api.blocks.errors import Blocked
from api.envelope import REQUEST_ID
from api.keys import POOL
from api.messages import store, unlock
from api.messages.errors import (
    CONVERSATION_ID,
    CannotMessageSelf,
    ConversationNotFound,
    MessageNotFound,
)
from api.messages.service import DMS, DirectMessages, message_wire
from api.routing import Api, Call, IdParam, Page, RateLimit
from api.schema import Input, Output
from api.users import store as users
from api.users.errors import UserNotFound
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.service import LEDGER

api = Api("messages")

UUID_CONVERSATION = {"conversation_id": CONVERSATION_ID}
MESSAGE_ID = IdParam(MessageNotFound, "no such message", "messageId")


class OpenConversation(Input):
    handle: str = Field(min_length=3, max_length=30, description="Whom to talk to")


class MessageIn(Input):
    text: str = Field(min_length=1, max_length=2000)
    price: int | None = Field(
        default=None, ge=1, le=100_000, description="Tokens to unlock the text (creators only)"
    )


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
    text: str = Field(description="Empty while ``locked``")
    masked: bool
    price: int | None = Field(description="Tokens to unlock (a paid message), else None")
    locked: bool = Field(description="A paid message I have not unlocked: no text yet")
    unlocked: bool
    read_state: Literal["sent", "read"]
    read_at: datetime | None
    created_at: datetime


class ReadOut(Output):
    marked: int = Field(description="Messages that turned read")


class UnlockOut(Output):
    message_id: uuid.UUID
    price: int
    balance: int = Field(description="My wallet after paying")
    tx_id: int = Field(description="The ledger transaction that paid for the message")
    already_unlocked: bool = Field(description="True when an earlier call had paid already")


def message_out(m: store.MessageRow, me: uuid.UUID) -> MessageOut:
    return MessageOut.model_validate(message_wire(m, me))


def _dms(call: Call[Any, Any]) -> DirectMessages:
    return call.app.get(DMS) or DirectMessages(call.app[POOL])


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
    errors=(403,),
)
async def send_message(call: Call[MessageIn, None]) -> MessageOut:
    row = await _dms(call).send(
        call.principal, call.id("conversation_id"), call.body.text, price=call.body.price
    )
    return message_out(row, _me(call))


@api.route(
    "POST",
    "/api/v1/conversations/{conversation_id}/read",
    summary="Mark the other side's messages read (their read receipts)",
    response=ReadOut,
    auth=True,
    path_formats=UUID_CONVERSATION,
)
async def mark_read(call: Call[None, None]) -> ReadOut:
    return ReadOut(marked=await _dms(call).mark_read(call.principal, call.id("conversation_id")))


@api.route(
    "POST",
    "/api/v1/conversations/{conversation_id}/messages/{message_id}/unlock",
    summary="Pay a paid message's price to read it (once, whatever the retries)",
    status=201,
    response=UnlockOut,
    permission=Permission.WALLET,
    headers=(IDEMPOTENCY_KEY,),
    errors=(400, 402, 404, 409),
    path_formats={**UUID_CONVERSATION, "message_id": MESSAGE_ID},
)
async def unlock_message(call: Call[None, None]) -> web.Response:
    """Debits my wallet the price, paid to the sender as a tip (split by the fee schedule);
    ``alreadyUnlocked`` when it was paid before (by this key or another). 402
    INSUFFICIENT_FUNDS; 422 MESSAGE_NOT_FOR_SALE for a message without a price or my own."""
    cid, _ = await _other(call)
    mid = call.id("message_id")
    outcome = await unlock.unlock(
        call.app[LEDGER],
        idempotency_key(call),
        cid,
        mid,
        request_id=call.request[REQUEST_ID],
    )
    if outcome.ok and not outcome.replayed and not outcome.data.get("alreadyUnlocked"):
        await _dms(call).unlocked(mid)
    return respond(call.request, outcome, 201)
