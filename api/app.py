"""The aiohttp application: every HTTP role of a node (API, WHIP ingest, HLS origin, pages)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from api import health, pages
from api.envelope import envelope_middleware
from api.keys import POOL, PUBSUB, SETTINGS
from api.streams import routes as stream_routes
from api.streams import store
from hls import origin
from hls.output import HlsOutput
from hls.storage import create_storage
from ingest import whep, whip
from teezu.db import apply_migrations, create_pool
from teezu.pubsub import create_pubsub
from teezu.settings import Settings
from workers.retention import run_retention

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, dsn: str) -> web.Application:
    """Build the application; the database pool opens (and migrations run) at start-up."""
    app = web.Application(middlewares=[envelope_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    storage = create_storage(settings)
    live: dict[str, HlsOutput] = {}  # this node's live broadcasts, shared by ingest and origin

    async def visibility_of(stream_id: str) -> str | None:
        row = await store.get_stream(app[POOL], uuid.UUID(stream_id))
        return row.visibility if row is not None else None

    policy = origin.PlaybackPolicy(settings.playback_key_bytes(), visibility_of)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(dsn)
        pubsub = create_pubsub(settings.redis_url)
        app[PUBSUB] = pubsub
        try:
            applied = await apply_migrations(pool)
            if applied:
                log.info("migrations applied", extra={"versions": applied})
            ended = await store.end_all_on_node(pool, node=settings.node_id)
            if ended:
                log.warning("ended %d broadcasts left live by a previous run", ended)
            app[POOL] = pool
            publishers = whip.Publishers(
                settings=settings, pool=pool, storage=storage, pubsub=pubsub, outputs=live
            )
            app[whip.PUBLISHERS] = publishers
            viewers = whep.Viewers()
            app[whep.VIEWERS] = viewers
            publishers.ended_hooks.append(viewers.stop_stream)
            publishers.start()
            retention = asyncio.get_running_loop().create_task(
                run_retention(pool, storage, settings.retention_interval), name="vod-retention"
            )
            yield
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
            await viewers.close()
            await publishers.close()
        finally:
            await storage.close()
            await pubsub.close()
            await pool.close()

    app.cleanup_ctx.append(lifecycle)
    health.add_routes(app)
    stream_routes.add_routes(app)
    whip.add_routes(app)
    whep.add_routes(app)
    origin.add_routes(app, storage, live, policy)
    pages.add_routes(app)
    return app
