"""A room broadcast's fast path for Socket.IO clients on the WebSocket transport.

python-socketio sends a room emit by creating one asyncio task per recipient, each of which
puts the packet on the recipient's Engine.IO queue, whose own writer task then wakes to write
it: two task switches and a queue hop per delivery, which the chat benchmark's profile showed
to be most of a busy room's cost. Here a room emit encodes the packet once (one ``json.dumps``)
and builds the WebSocket frame once (a server's frames are not masked, so every recipient
gets the same bytes), then writes it straight into each recipient's connection. The rest of
python-socketio is unchanged: acks, events to one connection, the Redis manager (whose
listener hands each emit to `RoomManager.emit` on every process), and long-polling clients,
which keep going through Engine.IO's queue.

A write goes through the queue instead whenever going direct could reorder a connection's
packets: while the connection is still on long-polling or being upgraded, while its queue
holds packets (an ack, a ping) not yet written, and while its writer is waiting for a slow
reader (the transport paused). So each connection still sees its packets in the order they
were sent. WebSockets opened here do not negotiate permessage-deflate (as the Node.js
socket.io server does by default): chat packets are small, and deflate would need a
compression per recipient.

The hooks are narrow: `EngineServer` swaps Engine.IO's aiohttp WebSocket wrapper for
`DirectWebSocket`, which remembers each connection's aiohttp `WebSocketResponse` while it is
open; `RoomManager` overrides the manager's ``emit``.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

import engineio
import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet as sio_packet

log = logging.getLogger(__name__)

_TEXT_FIN = 0x81  # FIN + text opcode


def text_frame(payload: str) -> bytes:
    """One unmasked, uncompressed WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    data = payload.encode()
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", _TEXT_FIN, n)
    elif n < 65536:
        header = struct.pack("!BBH", _TEXT_FIN, 126, n)
    else:
        header = struct.pack("!BBQ", _TEXT_FIN, 127, n)
    return header + data


class DirectWebSocket(eio_aiohttp.WebSocket):
    """Engine.IO's aiohttp WebSocket wrapper, registering the open `WebSocketResponse` with
    its `EngineServer` (keyed by Engine.IO session id) and without permessage-deflate."""

    server: EngineServer

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        ws = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        self._sock = ws
        await ws.prepare(request)
        self.environ = environ
        sid = self.handler.__self__.sid  # the handler is the AsyncSocket's _websocket_handler
        self.server.websockets[sid] = ws
        try:
            await self.handler(self)
        finally:
            if self.server.websockets.get(sid) is ws:
                del self.server.websockets[sid]
        return ws


class EngineServer(engineio.AsyncServer):
    """Engine.IO's server, with `DirectWebSocket` for the WebSocket transport."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # the driver's table is module-level: copy it, never change it for everyone
        driver: dict[str, Any] = getattr(self, "_async")  # noqa: B009 - untyped in engineio
        self._async = {**driver, "websocket": DirectWebSocket}
        self.websockets: dict[str, web.WebSocketResponse] = {}
        self.direct_writes = 0  # frames written by the fast path (the tests read it)

    def direct(self, eio_sid: str) -> Any:
        """The connection's transport when a frame may be written into it now, else None."""
        ws = self.websockets.get(eio_sid)
        if ws is None or ws.closed:
            return None
        socket = self.sockets.get(eio_sid)
        if socket is None or not socket.upgraded or socket.upgrading or not socket.queue.empty():
            return None  # long-polling, upgrading, or packets queued before this one
        request = ws._req  # aiohttp keeps the connection's request (and transport) there
        if request is None:
            return None
        protocol = request._protocol
        transport = protocol.transport if protocol is not None else None
        if transport is None or transport.is_closing():
            return None
        if protocol._paused:
            return None  # the writer waits for a slow reader: queue behind what it holds
        return transport


class SocketServer(socketio.AsyncServer):
    """python-socketio's server on an `EngineServer`."""

    eio: EngineServer

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return EngineServer


class RoomManager(socketio.AsyncManager):
    """python-socketio's in-process manager, with the fast room emit.

    One encoding per emit; per recipient one write into its WebSocket (or, where that could
    reorder its packets, one put on its Engine.IO queue: long-polling clients always take
    that way). No task per recipient. A closed connection is skipped, not fatal to the rest.
    """

    server: SocketServer

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: str | None = None,
        **kwargs: Any,
    ) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        if isinstance(encoded, list):  # binary attachments: not for the fast path
            packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in encoded]
            frame = None
        else:
            packet = eio_packet.Packet(eio_packet.MESSAGE, encoded)
            packets = [packet]
            frame = text_frame(packet.encode())
        eio = self.server.eio
        direct = eio.direct if isinstance(eio, EngineServer) else None
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            transport = direct(eio_sid) if frame is not None and direct is not None else None
            if transport is not None:
                transport.write(frame)
                eio.direct_writes += 1
                continue
            socket = eio.sockets.get(eio_sid)
            if socket is None or socket.closed or socket.closing:
                continue  # gone meanwhile: its disconnect handler is on its way
            try:
                for p in packets:
                    await socket.send(p)
            except Exception:  # noqa: BLE001 - a socket closing mid-emit; the rest still get it
                log.debug("emit to %s failed", sid, exc_info=True)


class RedisRoomManager(socketio.AsyncRedisManager, RoomManager):
    """The Redis manager (emits reach every process), with `RoomManager`'s local fan-out:
    `AsyncPubSubManager` hands local delivery to the next class in line, which is then ours."""
