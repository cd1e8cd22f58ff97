"""The engagement features on the node's Socket.IO server and in its lifecycle.

Mounted after `api.realtime.attach` (it needs the chat: room membership, the limiter, the
pub/sub and the transport), so it starts after the chat and stops before it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from api.chat.events import ack_error
from api.engagement import events
from api.engagement.moments import RoomMoments
from api.engagement.reactions import RoomReactions
from api.engagement.room_duels import RoomDuels
from api.engagement.room_polls import RoomPolls
from api.engagement.room_sync import RoomSync
from api.engagement.strip import MoodStrip
from api.keys import POOL
from api.realtime import CHAT, SOCKETIO
from api.wallet.events import MONEY_EVENTS
from api.wallet.service import LEDGER
from teezu.errors import TeezuError
from teezu.settings import Settings

log = logging.getLogger(__name__)

MOOD_STRIP: web.AppKey[MoodStrip] = web.AppKey("mood_strip", MoodStrip)
ROOM_POLLS: web.AppKey[RoomPolls] = web.AppKey("room_polls", RoomPolls)
ROOM_DUELS: web.AppKey[RoomDuels] = web.AppKey("room_duels", RoomDuels)
ROOM_SYNC: web.AppKey[RoomSync] = web.AppKey("room_sync", RoomSync)
ROOM_MOMENTS: web.AppKey[RoomMoments] = web.AppKey("room_moments", RoomMoments)

Request = Callable[[str, Any], Awaitable[dict[str, Any]]]


def _guarded(name: str, method: Callable[[], Request]) -> Callable[..., Awaitable[Any]]:
    async def handler(sid: str, data: Any = None, *_extra: Any) -> dict[str, Any]:
        try:
            return await method()(sid, data)
        except TeezuError as exc:
            return ack_error(exc)
        except Exception:
            log.exception("engagement event %s failed", name)
            return {"ok": False, "code": "INTERNAL_ERROR", "message": "internal error"}

    return handler


def attach(app: web.Application, settings: Settings) -> None:
    sio = app[SOCKETIO]
    handlers: dict[str, Callable[[], Request]] = {
        events.MOOD_VOTE: lambda: app[MOOD_STRIP].vote,
        events.MOOD_GET: lambda: app[MOOD_STRIP].get,
        events.POLL_OPEN: lambda: app[ROOM_POLLS].open,
        events.POLL_VOTE: lambda: app[ROOM_POLLS].vote,
        events.POLL_CLOSE: lambda: app[ROOM_POLLS].close_early,
        events.POLL_GET: lambda: app[ROOM_POLLS].get,
        events.DUEL_INVITE: lambda: app[ROOM_DUELS].invite,
        events.DUEL_ACCEPT: lambda: app[ROOM_DUELS].accept,
        events.DUEL_DECLINE: lambda: app[ROOM_DUELS].decline,
        events.DUEL_END: lambda: app[ROOM_DUELS].end_early,
        events.DUEL_GET: lambda: app[ROOM_DUELS].get,
        events.SYNC_QUEUE: lambda: app[ROOM_SYNC].queue,
        events.SYNC_DROP: lambda: app[ROOM_SYNC].drop,
        events.SYNC_VOTE: lambda: app[ROOM_SYNC].vote,
        events.SYNC_NEXT: lambda: app[ROOM_SYNC].next,
        events.SYNC_GET: lambda: app[ROOM_SYNC].get,
    }
    for name, method in handlers.items():
        sio.on(name, _guarded(name, method))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        strip = MoodStrip(chat=app[CHAT], pool=app[POOL], settings=settings)
        app[MOOD_STRIP] = strip
        strip.start()
        polls = RoomPolls(
            chat=app[CHAT],
            pool=app[POOL],
            ledger=app[LEDGER],
            money=app[MONEY_EVENTS],
            settings=settings,
        )
        app[ROOM_POLLS] = polls
        polls.start()
        duels = RoomDuels(chat=app[CHAT], pool=app[POOL], settings=settings)
        app[ROOM_DUELS] = duels
        duels.start()
        app[MONEY_EVENTS].tipped_hooks.append(duels.tipped)
        moments = RoomMoments(chat=app[CHAT], pool=app[POOL])
        app[ROOM_MOMENTS] = moments
        app[MONEY_EVENTS].tipped_hooks.append(moments.tipped)
        app[CHAT].delivered_hooks.append(moments.delivered)
        strip.voted_hooks.append(moments.voted)
        polls.voted_hooks.append(moments.voted)
        sync = RoomSync(
            chat=app[CHAT],
            pool=app[POOL],
            ledger=app[LEDGER],
            money=app[MONEY_EVENTS],
            settings=settings,
        )
        app[ROOM_SYNC] = sync
        sync.voted_hooks.append(moments.voted)
        reacting = RoomReactions(app[POOL], app[MONEY_EVENTS])
        app[MONEY_EVENTS].tipped_hooks.append(reacting.tipped)
        try:
            yield
        finally:
            await duels.close()
            await moments.close()
            await sync.close()
            await reacting.close()
            await polls.close()
            await strip.close()

    app.cleanup_ctx.append(lifecycle)
