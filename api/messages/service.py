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
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from api.messages import store
from api.messages.errors import (
    CannotPriceMessage,
    ConversationNotFound,
    MessageBlocked,
)
from teezu.errors import Forbidden

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
        "locked": locked,
        "unlocked": m.unlocked,
        "readState": m.read_state,
        "readAt": m.read_at.isoformat() if m.read_at else None,
        "createdAt": m.created_at.isoformat(),
    }


@dataclass
class DirectMessages:
    """The app's direct messages over one pool; ``emit`` pushes to personal rooms (none: only
    REST, as in a process without Socket.IO)."""

    pool: asyncpg.Pool
    emit: Emit | None = None
    screener: Callable[[str, Any, Any], Awaitable[Verdict]] | None = None

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

    async def send(
        self,
        principal: Principal,
        conversation_id: uuid.UUID,
        text: str,
        *,
        price: int | None = None,
    ) -> store.MessageRow:
        """Store a message and push it to both sides; raises the envelope's errors."""
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
        verdict = await self._screen(other, text)
        if verdict.action in ("block", "hold"):
            raise MessageBlocked(
                "this message is not allowed", meta={"reasons": list(verdict.reasons)}
            )
        meta = {"masked": True} if verdict.action == "mask" else {}
        async with self.pool.acquire() as conn, conn.transaction():
            row = await store.send(conn, conversation_id, me, verdict.text, meta, price=price)
        await self._push(MESSAGE, row, me, other)
        return row

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
