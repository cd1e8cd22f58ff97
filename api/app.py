"""The aiohttp application: every HTTP role of a node (API, WHIP ingest, HLS origin, pages)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from api import health, pages
from api.envelope import envelope_middleware
from api.keys import POOL, PUBSUB, SETTINGS
from api.streams import routes as stream_routes
from api.streams import store
from hls import origin
from hls.storage import LocalStorage
from ingest import whip
from teezu.db import apply_migrations, create_pool
from teezu.pubsub import create_pubsub
from teezu.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, dsn: str) -> web.Application:
    """Build the application; the database pool opens (and migrations run) at start-up."""
    app = web.Application(middlewares=[envelope_middleware], client_max_size=1024**2)
    app[SETTINGS] = settings
    storage = LocalStorage(settings.media_dir)

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
                settings=settings, pool=pool, storage=storage, pubsub=pubsub
            )
            app[whip.PUBLISHERS] = publishers
            publishers.start()
            yield
            await publishers.close()
        finally:
            await pubsub.close()
            await pool.close()

    app.cleanup_ctx.append(lifecycle)
    health.add_routes(app)
    stream_routes.add_routes(app)
    whip.add_routes(app)
    origin.add_routes(app, storage)
    pages.add_routes(app)
    return app
