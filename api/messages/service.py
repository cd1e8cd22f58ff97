"""Sending, reading and typing in direct messages, shared by the REST routes and Socket.IO.

Whichever way a message arrives (``POST .../messages`` or the ``dm:send`` event), it goes
through the same checks (participant, blocks, the recipient's chat filter, a price only from
someone who sells content) and is then pushed to both participants' personal Socket.IO rooms
(``user:<id>``): with the Redis manager those rooms span every API process, so a recipient
connected to another node gets it at once. Read receipts and typing notices travel the same way.

Each participant gets their own view of a message: a paid message the recipient has not
unlocked reaches them without its text (``locked``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp import web

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.blocks import store as blocks
from api.blocks.errors import Blocked
from api.chat import rooms
from api.chat import store as chat
from api.chat.errors import AuthRequired
from api.chat.screening import Verdict, screen
from api.memberships.allowance import check_dm_allowance
from api.messages import attachments, store
from api.messages.attachments import ScanTasks
from api.messages.errors import (
    CannotPriceMessage,
    ConversationNotFound,
    MessageBlocked,
)
from api.posts.media import Upload
from api.posts.scanner import PostScanner
from teezu.errors import Forbidden
from teezu.storage import Storage

log = logging.getLogger(__name__)

# server -> client events (each to a user's personal room)
MESSAGE = "dm:message"  # {message}: a new message in one of my conversations
RECEIPT = "dm:read"  # {conversationId, readerId, readAt, marked}: the other side read mine
TYPING = "dm:typing"  # {conversationId, userId, handle}
UNLOCKED = "dm:unlocked"  # {message}: a paid message was unlocked (to both sides)

# Emit ``event`` with ``data`` to every connection of a user room on every node.
Emit = Callable[[str, Any, str], Awaitable[None]]


def user_room(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def message_wire(m: store.MessageRow, me: uuid.UUID) -> dict[str, Any]:
    """A message as ``me`` sees it (the JSON shape of ``MessageOut``)."""
    mine = m.sender_id == me
    locked = m.price is not None and not mine and not m.unlocked
    return {
        "id": str(m.id),
        "conversationId": str(m.conversation_id),
        "senderId": str(m.sender_id),
        "mine": mine,
        "text": "" if locked else m.body,
        "masked": bool(m.metadata.get("masked")),
        "price": m.price,
        "attachment": _attachment_wire(m),
        "locked": locked,
        "unlocked": m.unlocked,
        "readState": m.read_state,
        "readAt": m.read_at.isoformat() if m.read_at else None,
        "createdAt": m.created_at.isoformat(),
    }


def _attachment_wire(m: store.MessageRow) -> dict[str, Any] | None:
    a = m.metadata.get("attachment")
    if not isinstance(a, dict):
        return None
    return {
        "id": a["id"],
        "kind": a["kind"],
        "contentType": a["contentType"],
        "status": a["status"],
        "url": f"/api/v1/conversations/{m.conversation_id}/attachments/{a['id']}",
    }


@dataclass
class DirectMessages:
    """The app's direct messages over one pool; ``emit`` pushes to personal rooms (none: only
    REST, as in a process without Socket.IO)."""

    pool: asyncpg.Pool
    emit: Emit | None = None
    screener: Callable[[str, Any, Any], Awaitable[Verdict]] | None = None
    storage: Storage | None = None
    scanner: Callable[[], PostScanner | None] = lambda: None
    scans: ScanTasks = field(default_factory=ScanTasks)

    async def participants(self, conversation_id: uuid.UUID, me: uuid.UUID) -> uuid.UUID | None:
        try:
            return await store.other_member(self.pool, conversation_id, me)
        except LookupError:
            raise ConversationNotFound(
                "no such conversation", meta={"conversationId": str(conversation_id)}
            ) from None

    async def _screen(self, recipient: uuid.UUID, text: str) -> Verdict:
        safety = await chat.get_safety(self.pool, recipient)
        banned = await rooms.load_banned(self.pool, recipient)
        if self.screener is not None:
            return await self.screener(text, safety, banned)
        return await asyncio.to_thread(screen, text, safety, banned, [])

    async def _check(
        self, principal: Principal, conversation_id: uuid.UUID, text: str, price: int | None
    ) -> tuple[uuid.UUID, uuid.UUID, Verdict]:
        """Who may send what here: (me, the recipient, the filter's verdict on ``text``)."""
        me = _require(principal)
        if not principal.can(Permission.DM):
            raise Forbidden("your role cannot send direct messages", meta={"permission": "dm.send"})
        if price is not None and not principal.can(Permission.UPLOAD):
            raise CannotPriceMessage("only creators can ask a price for a message")
        other = await self.participants(conversation_id, me)
        if other is None:
            raise ConversationNotFound("the other account no longer exists")
        if await blocks.between(self.pool, me, other):
            raise Blocked("one of you blocked the other")
        await check_dm_allowance(self.pool, principal)  # the membership's daily allowance
        verdict = await self._screen(other, text)
        if verdict.action in ("block", "hold"):
            raise MessageBlocked(
                "this message is not allowed", meta={"reasons": list(verdict.reasons)}
            )
        return me, other, verdict

    async def send(
        self,
        principal: Principal,
        conversation_id: uuid.UUID,
        text: str,
        *,
        price: int | None = None,
    ) -> store.MessageRow:
        """Store a message and push it to both sides; raises the envelope's errors."""
        me, other, verdict = await self._check(principal, conversation_id, text, price)
        meta = {"masked": True} if verdict.action == "mask" else {}
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.send(conn, conversation_id, me, verdict.text, meta, price=price)
        await self._push(MESSAGE, row, me, other)
        return row

    async def attach(
        self, principal: Principal, conversation_id: uuid.UUID, text: str, upload: Upload
    ) -> store.MessageRow:
        """Store a message with an attachment, pending its scan: the sender sees it at once,
        the recipient once the verdict is clean (`api.messages.attachments`)."""
        me, other, verdict = await self._check(principal, conversation_id, text, None)
        assert self.storage is not None
        attachment_id = uuid.uuid4()
        key = attachments.media_key(attachment_id, upload.content_type)
        await self.storage.put(key, upload.data, upload.content_type, "private, no-store")
        meta: dict[str, Any] = {
            "attachment": {
                "id": str(attachment_id),
                "kind": upload.kind,
                "contentType": upload.content_type,
                "status": "pending",
            }
        }
        if verdict.action == "mask":
            meta["masked"] = True
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.send(conn, conversation_id, me, verdict.text, meta)
            await attachments.create(conn, attachment_id, row.id, me, upload)
        if self.emit is not None:
            await self.emit(MESSAGE, {"message": message_wire(row, me)}, user_room(me))
        scanner = self.scanner()
        if scanner is not None:
            self.scans.spawn(self._scan(scanner, attachment_id, other), f"dm-scan-{attachment_id}")
        return row

    async def _scan(
        self, scanner: PostScanner, attachment_id: uuid.UUID, recipient: uuid.UUID
    ) -> None:
        try:
            found = await attachments.get(self.pool, attachment_id)
            if found is None or self.storage is None:
                return
            status = await attachments.scan(self.pool, self.storage, scanner, found)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("attachment scan failed", extra={"attachment_id": str(attachment_id)})
            return
        if status is None:
            return
        row = await store.get(self.pool, found.message_id)
        if row is None or self.emit is None:
            return
        # The sender learns the verdict; the recipient gets the message only when clean.
        await self.emit(
            MESSAGE, {"message": message_wire(row, row.sender_id)}, user_room(row.sender_id)
        )
        if status == "clean":
            await self.emit(
                MESSAGE, {"message": message_wire(row, recipient)}, user_room(recipient)
            )

    async def _push(
        self, event: str, row: store.MessageRow, sender: uuid.UUID, recipient: uuid.UUID
    ) -> None:
        if self.emit is None:
            return
        await self.emit(event, {"message": message_wire(row, recipient)}, user_room(recipient))
        await self.emit(event, {"message": message_wire(row, sender)}, user_room(sender))

    async def mark_read(self, principal: Principal, conversation_id: uuid.UUID) -> int:
        """Mark the other side's messages read and send them the receipt."""
        me = _require(principal)
        other = await self.participants(conversation_id, me)
        marked, read_at = await store.mark_read(self.pool, conversation_id, me)
        if marked and other is not None and self.emit is not None:
            await self.emit(
                RECEIPT,
                {
                    "conversationId": str(conversation_id),
                    "readerId": str(me),
                    "readAt": read_at.isoformat() if read_at else None,
                    "marked": marked,
                },
                user_room(other),
            )
        return marked

    async def typing(self, principal: Principal, conversation_id: uuid.UUID) -> None:
        me = _require(principal)
        other = await self.participants(conversation_id, me)
        if other is None or self.emit is None:
            return
        if await blocks.between(self.pool, me, other):
            raise Blocked("one of you blocked the other")
        await self.emit(
            TYPING,
            {"conversationId": str(conversation_id), "userId": str(me), "handle": principal.handle},
            user_room(other),
        )

    async def unlocked(self, message_id: uuid.UUID) -> None:
        """Tell both sides a paid message is open now (the buyer gets its text)."""
        row = await store.get(self.pool, message_id)
        if row is None:
            return
        other = await self.participants(row.conversation_id, row.sender_id)
        if other is not None:
            await self._push(UNLOCKED, row, row.sender_id, other)


def _require(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise AuthRequired("sign in to use direct messages")
    return principal.user_id


DMS = web.AppKey("direct_messages", DirectMessages)
