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

import asyncio
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
from api.keys import POOL, SETTINGS
from api.messages import attachments, store, unlock
from api.messages.errors import (
    CONVERSATION_ID,
    AttachmentNotAvailable,
    AttachmentNotFound,
    CannotMessageSelf,
    ConversationNotFound,
    MessageNotFound,
)
from api.messages.service import DMS, DirectMessages, message_wire
from api.posts import media, uploads
from api.posts.errors import InvalidPost
from api.routing import Api, Call, IdParam, Page, RateLimit
from api.schema import Input, Output, text_problem
from api.users import store as users
from api.users.errors import UserNotFound
from api.verification.errors import InvalidSubmission
from api.verification.upload import parse_form
from api.wallet.money_calls import IDEMPOTENCY_KEY, idempotency_key, respond
from api.wallet.service import LEDGER
from teezu.storage import STORAGE

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
    attachment: AttachmentOut | None
    unlocked: bool
    read_state: Literal["sent", "read"]
    read_at: datetime | None
    created_at: datetime


class AttachmentOut(Output):
    id: uuid.UUID
    kind: Literal["image", "video"]
    content_type: str
    status: Literal["pending", "clean", "held", "rejected"] = Field(
        description="Delivered to the recipient only when clean (scanned before delivery)"
    )
    url: str


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


ATTACHMENT_ID = IdParam(AttachmentNotFound, "no such attachment", "attachmentId")
MAX_FORM = uploads.MAX_FORM


@api.route(
    "POST",
    "/api/v1/conversations/{conversation_id}/attachments",
    summary="Send an image or short video (multipart: file, text); delivered after its scan",
    status=201,
    response=MessageOut,
    permission=Permission.DM,
    rate_limit=RateLimit(60, 60, setting="message_rate_limit"),
    raw_body=("multipart/form-data",),
    max_body=MAX_FORM,
    path_formats=UUID_CONVERSATION,
    errors=(403, 429),
)
async def send_attachment(call: Call[bytes, None]) -> MessageOut:
    """The file's type is read from its bytes (as for posts). The recipient gets the message,
    and may fetch the file, only after the moderation scan finds it clean; an explicit one is
    held (``attachment.status``)."""
    settings = call.app[SETTINGS]
    header = call.request.headers.get("Content-Type", "")
    try:
        fields = await asyncio.to_thread(parse_form, call.body, header)
    except InvalidSubmission as exc:
        raise InvalidPost(str(exc)) from None
    unknown = sorted(set(fields) - {"file", "text"})
    if unknown:
        raise InvalidPost("unknown form fields", meta={"fields": unknown})
    try:
        text = fields["text"][1].decode().strip() if "text" in fields else ""
    except UnicodeDecodeError:
        raise InvalidPost("text is UTF-8") from None
    if len(text) > 2000 or (text and text_problem(text) is not None):
        raise InvalidPost("text is at most 2000 characters of plain text", meta={"field": "text"})
    file_only = {k: v for k, v in fields.items() if k == "file"}
    upload = media.post_form(file_only, max_bytes=min(settings.post_max_bytes, MAX_FORM))
    await asyncio.to_thread(media.probe, upload, max_seconds=settings.post_max_video_seconds)
    row = await _dms(call).attach(call.principal, call.id("conversation_id"), text or "📎", upload)
    return message_out(row, _me(call))


@api.route(
    "GET",
    "/api/v1/conversations/{conversation_id}/attachments/{attachment_id}",
    summary="An attachment's file (the recipient: only once scanned clean)",
    auth=True,
    path_formats={**UUID_CONVERSATION, "attachment_id": ATTACHMENT_ID},
    produces="application/octet-stream",
)
async def get_attachment(call: Call[None, None]) -> web.Response:
    """404 ATTACHMENT_NOT_AVAILABLE (meta.status) while pending, and when held or rejected,
    for the recipient; the sender may always fetch their own upload."""
    cid, _ = await _other(call)
    aid = call.id("attachment_id")
    found = await attachments.get(call.app[POOL], aid)
    row = await store.get(call.app[POOL], found.message_id) if found else None
    if found is None or row is None or row.conversation_id != cid:
        raise AttachmentNotFound("no such attachment", meta={"attachmentId": str(aid)})
    if found.uploader_id != _me(call) and found.status != "clean":
        raise AttachmentNotAvailable(
            "this attachment is not available", meta={"status": found.status}
        )
    data = await call.app[STORAGE].get(found.media_key)
    if data is None:
        raise AttachmentNotAvailable(
            "this attachment's file is missing", meta={"status": "missing"}
        )
    return web.Response(
        body=data,
        content_type=found.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


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
    me = _me(call)
    rows = await store.history(
        call.app[POOL], cid, me, limit=q.limit, before=cursors.decode(q.cursor)
    )
    more = cursors.encode(rows[-1].created_at, rows[-1].id) if len(rows) == q.limit else None
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
    INSUFFICIENT_FUNDS; 409 STREAM_FROZEN while a live stream of the sender is frozen (the kill
    switch); 422 MESSAGE_NOT_FOR_SALE for a message without a price or my own."""
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
