"""What a node starts and stops, top to bottom: the lifecycle of `teezu serve` and `teezu api`.

Started in this order, stopped in reverse: the database (migrations, the RBAC tables), pub/sub,
the rate-limit counter, the password hasher, the playback-access listener; then, on a node that
takes publishers (``ingest=True``), the live path: the LL-HLS edge, the node's broadcasts
(``live/broadcasts.py``) with their WebRTC viewers and the guard that holds those to the
playback policy, the safety control (freezes, with the ledger's kill switch), on-frame
moderation and post scanning in the worker processes, and the background loops (VOD retention,
the hub's view refresh). The API role (``ingest=False``) stops after the first part.

Packages whose start-up needs the pool (the wallet, subscriptions, matching, ...) hang their own
lifecycles after this one (``api/app.py``); routes never start worker loops themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from api.agegate import places as age_places
from api.analytics.facts import WhepFacts
from api.auth.passwords import HASHER, PasswordHasher
from api.keys import EDGE, MODERATION, POOL, POST_SCANNER, PUBSUB, SAFETY
from api.moderation.monitor import LiveModeration
from api.moderation.policy import load_policy
from api.posts.downloads import ForensicRenderer
from api.posts.scanner import PostScanner
from api.ratelimit import COUNTER, create_counter
from api.streams import store
from api.streams.revocations import RevocationListener
from api.users.store import sync_rbac_tables
from api.wallet.service import LEDGER
from engine import watermark
from hls.edge import LlHlsEdge
from hls.origin import LIVE_KEY, PlaybackPolicy
from ingest.safety import SafetyControl
from live.broadcasts import BROADCASTS, LiveBroadcasts
from live.whep import VIEWERS, Viewers
from live.whep_guard import WHEP_GUARD, WhepGuard
from teezu.db import apply_migrations, create_pool
from teezu.pubsub import PubSub, create_pubsub
from teezu.settings import Settings
from teezu.storage import Storage
from workers.analytics import run_hub_refresh
from workers.moderation import ModerationPool
from workers.retention import run_retention

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Node:
    """What the app's assembly built before start-up that the lifecycle starts or closes."""

    settings: Settings
    dsn: str
    ingest: bool  # takes publishers: the live path below runs
    storage: Storage
    forensic: ForensicRenderer
    policy: PlaybackPolicy
    revocations: RevocationListener


def lifecycle(node: Node) -> Callable[[web.Application], AsyncIterator[None]]:
    """The node's ``cleanup_ctx`` entry (see the module doc)."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        settings = node.settings
        pool = await create_pool(node.dsn)
        pubsub = create_pubsub(settings.redis_url)
        app[PUBSUB] = pubsub
        counter = create_counter(settings.redis_url)
        app[COUNTER] = counter
        hasher = PasswordHasher(settings.bcrypt_rounds)
        app[HASHER] = hasher
        try:
            applied = await apply_migrations(pool)
            if applied:
                log.info("migrations applied", extra={"versions": applied})
            await sync_rbac_tables(pool)
            await asyncio.to_thread(age_places.warm)  # pycountry reads its tables once
            app[POOL] = pool
            node.revocations.start()
            if not node.ingest:
                yield
                return
            async with _live_path(app, node, pool, pubsub):
                # Everything loaded so far (modules, the app, the codecs' Python side) lives as
                # long as the process: keep it out of the cyclic GC's full collections, which
                # otherwise scan it all and pause the loop ~80 ms mid-burst (bench_origin.py).
                gc.freeze()
                yield
        finally:
            await node.revocations.close()
            await node.forensic.close()
            await node.storage.close()
            await pubsub.close()
            await counter.close()
            hasher.close()
            await pool.close()

    return run


@contextlib.asynccontextmanager
async def _live_path(
    app: web.Application, node: Node, pool: asyncpg.Pool, pubsub: PubSub
) -> AsyncIterator[None]:
    """The broadcasts, their viewers, safety, moderation and the background loops."""
    settings, storage = node.settings, node.storage
    ended = await store.end_all_on_node(pool, node=settings.node_id)
    if ended:
        log.warning("ended %d broadcasts left live by a previous run", ended)

    # The ledger starts after this lifecycle (`api/wallet/lifecycle.py`): looked up when called.
    async def stream_ended(stream_id: str) -> None:
        await app[LEDGER].stream_ended(uuid.UUID(stream_id))

    async def stop_billing(stream_id: str, reason: str) -> None:
        await app[LEDGER].stop_billing(uuid.UUID(stream_id), reason)

    facts = WhepFacts(pool)
    viewers = Viewers(started_hooks=[facts.started], stopped_hooks=[facts.stopped])
    app[VIEWERS] = viewers
    guard = WhepGuard(node.policy)
    app[WHEP_GUARD] = guard
    node.revocations.on_change.append(guard.changed)
    broadcasts = LiveBroadcasts(
        settings,
        pool,
        storage,
        pubsub,
        viewers=viewers,
        stream_ended=stream_ended,
        frame_hooks=[lambda s: watermark.for_creator(s.creator_handle, settings)]
        if settings.watermark_enabled
        else [],
    )
    app[BROADCASTS] = broadcasts
    app[LIVE_KEY] = broadcasts.hls_outputs  # what the origin serves from memory
    safety = SafetyControl(
        broadcasts, storage=storage, pool=pool, pubsub=pubsub, on_frozen=[stop_billing]
    )
    app[SAFETY] = safety
    moderation = await _moderation(settings, pool, storage, pubsub, safety)
    broadcasts.moderation = moderation
    scanner = _post_scanner(settings, pool, storage, pubsub, moderation)

    edge = None
    if settings.edge_listen_port:
        # The live viewers' hot path, on this loop: it reads the same broadcasts.
        edge = LlHlsEdge(
            outputs=broadcasts.hls_outputs,
            policy=node.policy,
            app_port=settings.port,
            app_url=settings.public_url,
            hosts=settings.hosts,
            idle_timeout=settings.edge_idle_timeout,
        )
        await edge.start(settings.host, settings.edge_listen_port)
        app[EDGE] = edge
    guard.start()
    safety.start()
    if moderation is not None:
        await moderation.start()
        app[MODERATION] = moderation
    if scanner is not None:
        await scanner.start()
        app[POST_SCANNER] = scanner
    broadcasts.start()
    loop = asyncio.get_running_loop()
    loops = [
        loop.create_task(
            run_retention(pool, storage, settings.retention_interval), name="vod-retention"
        ),
        loop.create_task(
            run_hub_refresh(pool, settings.analytics_refresh_interval), name="hub-refresh"
        ),
    ]
    try:
        yield
    finally:
        if edge is not None:
            await edge.close()
        for task in loops:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await guard.close()
        await viewers.close()
        await broadcasts.close()
        await safety.close()
        if scanner is not None:
            await scanner.close()
        if moderation is not None:
            await moderation.close()


async def _moderation(
    settings: Settings, pool: asyncpg.Pool, storage: Storage, pubsub: PubSub, safety: SafetyControl
) -> LiveModeration | None:
    """The node's on-frame moderation, or None when ``TEEZU_MODERATION_ENABLED=false``."""
    if not settings.moderation_enabled:
        return None
    # The policy is a file: read off the loop.
    policy = await asyncio.to_thread(load_policy, settings.moderation_policy)
    return LiveModeration(
        pool=pool,
        storage=storage,
        pubsub=pubsub,
        policy=policy,
        workers=ModerationPool(
            settings.moderation_detector,
            workers=settings.moderation_workers,
            per_stream=settings.moderation_queue_per_stream,
        ),
        freeze=safety.freeze,
        sampler_options={
            "interval": settings.moderation_interval,
            "scene_threshold": settings.moderation_scene_threshold,
            "min_gap": settings.moderation_min_gap,
            "width": settings.moderation_sample_width,
        },
        flag_cooldown=settings.moderation_flag_cooldown,
    )


def _post_scanner(
    settings: Settings,
    pool: asyncpg.Pool,
    storage: Storage,
    pubsub: PubSub,
    moderation: LiveModeration | None,
) -> PostScanner | None:
    """Post and avatar scanning, in the live moderation's workers when this node has them."""
    if not settings.post_scan_enabled:
        return None
    return PostScanner(
        pool=pool,
        storage=storage,
        pubsub=pubsub,
        policy=moderation.policy if moderation else load_policy(settings.moderation_policy),
        workers=moderation.workers
        if moderation
        else ModerationPool(settings.moderation_detector, workers=settings.moderation_workers),
        own_workers=moderation is None,
        node=settings.node_id,
        frames=settings.post_scan_frames,
        poll=settings.post_scan_poll,
        claim_timeout=settings.post_scan_claim_timeout,
    )
