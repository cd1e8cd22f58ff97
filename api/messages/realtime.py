"""Direct messages on the node's Socket.IO server.

Every signed-in connection is in its account's personal room (``user:<id>``, entered at the
handshake by `api.realtime`); these events act on a conversation and push to the other side's
room, on whichever API process its connections are. Each is acknowledged: ``{"ok": true, ...}``
or the envelope's code (``FORBIDDEN`` for a role without ``dm.send``, ``BLOCKED``,
``MESSAGE_BLOCKED``, ``RATE_LIMITED`` with ``retryAfter``, ``CONVERSATION_NOT_FOUND``, ...).

client -> server: ``dm:send`` {conversationId, text, price?} -> {message};
``dm:read`` {conversationId} -> {marked}; ``dm:typing`` {conversationId} -> {sent}.
server -> client: see `api.messages.service` (``dm:message``, ``dm:read``, ``dm:typing``,
``dm:unlocked``), and ``dm:closed`` when the connection's session ended: every
``chat_session_recheck`` seconds the node re-reads its connections' sessions and takes the
signed-out ones out of their personal room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from api.auth.principal import Principal
from api.chat.errors import RateLimited
from api.chat.events import ack_error, ack_ok, parse
from api.keys import POOL, POST_SCANNER
from api.messages.events import CLOSED, READ, SEND, TYPING, ConversationPayload, SendPayload
from api.messages.service import DMS, DirectMessages, message_wire, user_room
from api.realtime import CHAT, SOCKETIO
from teezu.errors import TeezuError
from teezu.settings import Settings
from teezu.storage import STORAGE

log = logging.getLogger(__name__)

Request = Callable[[str, Any], Awaitable[dict[str, Any]]]


def user_room_of(principal: Principal) -> str | None:
    return user_room(principal.user_id) if principal.user_id is not None else None


def _guarded(name: str, method: Request) -> Callable[..., Awaitable[Any]]:
    async def handler(sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        try:
            return await method(sid, data)
        except TeezuError as exc:
            return ack_error(exc)
        except Exception:
            log.exception("direct message event %s failed", name)
            return {"ok": False, "code": "INTERNAL_ERROR", "message": "internal error"}

    return handler


def attach(app: web.Application, settings: Settings) -> None:
    """Mount the ``dm:*`` events (after `api.realtime.attach`: they need the chat's
    connections, limiter and filter)."""
    sio = app[SOCKETIO]
    typing_at: dict[tuple[str, uuid.UUID], float] = {}

    async def send(sid: str, data: Any) -> dict[str, Any]:
        p = parse(SendPayload, data)
        chat = app[CHAT]
        principal = await chat.principal_of(sid)
        if principal.user_id is not None:
            wait = await chat.limiter.hit(
                f"dm:{principal.user_id}", limit=settings.message_rate_limit, window=60
            )
            if wait > 0:
                raise RateLimited("too many direct messages", retry_after=max(1, math.ceil(wait)))
        row = await app[DMS].send(principal, p.conversation_id, p.text, price=p.price)
        assert principal.user_id is not None
        return ack_ok(message=message_wire(row, principal.user_id))

    async def read(sid: str, data: Any) -> dict[str, Any]:
        p = parse(ConversationPayload, data)
        principal = await app[CHAT].principal_of(sid)
        return ack_ok(marked=await app[DMS].mark_read(principal, p.conversation_id))

    async def typing(sid: str, data: Any) -> dict[str, Any]:
        p = parse(ConversationPayload, data)
        principal = await app[CHAT].principal_of(sid)
        now = time.monotonic()
        # At most one notice per interval per connection and conversation, as in rooms.
        if now - typing_at.get((sid, p.conversation_id), -math.inf) < settings.chat_typing_interval:
            return ack_ok(sent=False)
        await app[DMS].typing(principal, p.conversation_id)
        if len(typing_at) > 10_000:
            typing_at.clear()
        typing_at[(sid, p.conversation_id)] = now
        return ack_ok(sent=True)

    for name, method in ((SEND, send), (READ, read), (TYPING, typing)):
        sio.on(name, _guarded(name, method))

    async def emit(event: str, data: Any, room: str) -> None:
        await sio.emit(event, data, room=room)

    async def recheck_once() -> None:
        """Take connections whose session ended (signed out, revoked, expired) out of their
        personal room: private messages must not keep reaching them."""
        chat = app[CHAT]
        for sid in list(chat.connections):
            own = [r for r in sio.rooms(sid) if isinstance(r, str) and r.startswith("user:")]
            if not own:
                continue
            try:
                principal = await chat.principal_of(sid)  # re-read when older than the recheck
            except TeezuError:
                continue  # gone meanwhile
            for room in own:
                if room != user_room_of(principal):
                    await sio.leave_room(sid, room)
                    await sio.emit(CLOSED, {"reason": "session ended"}, to=sid)

    async def recheck() -> None:
        while True:
            await asyncio.sleep(settings.chat_session_recheck)
            try:
                await recheck_once()
            except Exception:
                log.exception("direct message session recheck failed")

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        dms = DirectMessages(
            app[POOL],
            emit=emit,
            screener=app[CHAT].scorer.screen,
            storage=app[STORAGE],
            scanner=lambda: app.get(POST_SCANNER),
        )
        app[DMS] = dms
        task = asyncio.get_running_loop().create_task(recheck(), name="dm-session-recheck")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await dms.scans.close()

    app.cleanup_ctx.append(lifecycle)
