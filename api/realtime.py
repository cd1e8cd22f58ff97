"""Socket.IO on the aiohttp app (``/socket.io/``): the handshake, and events to `api.chat`.

The handshake authenticates with the session cookie through the app's `Authenticator`;
anonymous connections are accepted and may read public rooms. Cross-site handshakes are
refused: Engine.IO answers 400 to an ``Origin`` outside ``settings.origins``. With
``TEEZU_REDIS_URL`` set, python-socketio's `AsyncRedisManager` carries room emits between the
API processes, so a message sent on one reaches the room's members on all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web

from api.auth.principal import AUTHENTICATOR, Principal
from api.chat import events
from api.chat.events import ack_error
from api.chat.presence import create_presence
from api.chat.ratelimit import create_limiter
from api.chat.rooms import follows_of
from api.chat.service import Chat
from api.consent.safeword import use_safe_word
from api.consent.safeword import wire as safe_word_wire
from api.keys import POOL, PUBSUB
from api.messages.service import user_room
from api.routing import client_ip
from api.websocket_transport import RedisRoomManager, RoomManager, SocketServer
from teezu.errors import TeezuError
from teezu.metrics import METRICS
from teezu.settings import Settings

log = logging.getLogger(__name__)

CHAT: web.AppKey[Chat] = web.AppKey("chat", Chat)
SOCKETIO: web.AppKey[socketio.AsyncServer] = web.AppKey("socketio", socketio.AsyncServer)

Request = Callable[[str, Any], Awaitable[dict[str, Any]]]


class SocketIOTransport:
    """`api.chat.service.Transport` over a python-socketio server."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def enter_room(self, sid: str, room: str) -> None:
        await self._sio.enter_room(sid, room)

    async def leave_room(self, sid: str, room: str) -> None:
        await self._sio.leave_room(sid, room)

    async def emit(self, event: str, data: Any, *, room: str, skip_sid: str | None = None) -> None:
        await self._sio.emit(event, data, room=room, skip_sid=skip_sid)

    async def emit_local(self, event: str, data: Any, *, to: str) -> None:
        await self._sio.emit(event, data, to=to, ignore_queue=True)


def create_server(settings: Settings) -> socketio.AsyncServer:
    manager: socketio.AsyncManager = (
        RedisRoomManager(settings.redis_url, channel="teezu:socketio")
        if settings.redis_url
        else RoomManager()
    )
    return SocketServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=sorted(settings.origins),
        cors_credentials=True,
        max_http_buffer_size=64 * 1024,  # a chat event is small; refuse anything big
        logger=False,
        engineio_logger=False,
    )


def _guarded(chat_of: Callable[[], Chat], name: str, method: str, **kw: Any) -> Request:
    """Wrap a `Chat` request so any outcome becomes an ack payload."""

    async def handler(sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        try:
            return await getattr(chat_of(), method)(sid, data, **kw)
        except TeezuError as exc:
            return ack_error(exc)
        except Exception:
            log.exception("chat event %s failed", name)
            return {"ok": False, "code": "INTERNAL_ERROR", "message": "internal error"}

    return handler


def attach(app: web.Application, settings: Settings) -> None:
    """Mount Socket.IO on ``app`` and run the node's `Chat` with the app's lifecycle."""
    sio = create_server(settings)
    sio.attach(app, socketio_path="socket.io")
    app[SOCKETIO] = sio

    def chat() -> Chat:
        return app[CHAT]

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request: web.Request = environ["aiohttp.request"]
        principal = await app[AUTHENTICATOR].principal(request.headers)
        cookie = request.headers.get("Cookie")
        chat().connect(sid, principal, {"Cookie": cookie} if cookie else {})
        if principal.user_id is not None:  # direct messages reach the account here
            await sio.enter_room(sid, user_room(principal.user_id))
        ips[sid] = client_ip(request)

    ips: dict[str, str] = {}  # the handshake's address, for the safe word's audit entry

    async def safe_word(sid: str, principal: Principal, stream_id: uuid.UUID) -> dict[str, Any]:
        result = await use_safe_word(app, principal, stream_id, ip=ips.get(sid))
        return safe_word_wire(result)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        ips.pop(sid, None)
        await chat().disconnect(sid)

    requests: dict[str, tuple[str, dict[str, Any]]] = {
        events.JOIN: ("join", {}),
        events.LEAVE: ("leave", {}),
        events.SEND: ("send", {}),
        events.TYPING: ("typing", {}),
        events.PRESENCE: ("presence_list", {}),
        events.DELETE: ("remove", {}),
        events.REMOVE: ("remove", {}),
        events.REVIEW: ("review", {}),
        events.APPROVE: ("approve", {}),
        events.SAFE_WORD: ("safe_word", {}),
        events.TIMEOUT: ("restrict", {"kind": "timeout"}),
        events.BAN: ("restrict", {"kind": "ban"}),
        events.UNBAN: ("unban", {}),
        events.MODE: ("mode", {}),
    }
    for name, (method, kw) in requests.items():
        sio.on(name, _guarded(chat, name, method, **kw))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        presence = create_presence(settings.redis_url, ttl=settings.chat_presence_ttl)
        limiter = create_limiter(settings.redis_url)
        pool = app[POOL]
        service = Chat(
            pool=pool,
            settings=settings,
            transport=SocketIOTransport(sio),
            presence=presence,
            limiter=limiter,
            pubsub=app[PUBSUB],
            followers=follows_of(pool),
            authenticate=app[AUTHENTICATOR].principal,
            safe_word=safe_word,
        )
        app[CHAT] = service
        metrics = app.get(METRICS)
        if metrics is not None:
            service.fanout.on_sent = metrics.chat_fanout.observe
        await service.start()
        try:
            yield
        finally:
            await service.close()
            await sio.shutdown()
            listener = getattr(sio.manager, "thread", None)  # the Redis manager's reader
            if isinstance(listener, asyncio.Task):
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
            await limiter.close()
            await presence.close()

    async def close_connections(app: web.Application) -> None:
        # Open WebSockets would hold a graceful shutdown for its whole timeout (60 s); clients
        # reconnect to another process behind the load balancer. Not eio.disconnect(): it waits
        # for each socket's queue to drain, for ever if its writer already ended.
        for socket in list(sio.eio.sockets.values()):
            with contextlib.suppress(Exception):
                await socket.close(wait=False, reason=sio.eio.reason.SERVER_DISCONNECT)

    app.on_shutdown.append(close_connections)
    app.cleanup_ctx.append(lifecycle)
