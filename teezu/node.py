"""What a node starts and stops, top to bottom: the lifecycle of `teezu serve` and of the
cluster's roles (`teezu api`, `teezu ingest`, `teezu worker`; docs/cluster.md).

Started in this order, stopped in reverse: the database (migrations, the RBAC tables), pub/sub,
the rate-limit counter, the password hasher, the playback-access listener; then, on a node that
takes publishers (``ingest=True``), the live path: the LL-HLS edge, the node's broadcasts
(``live/broadcasts.py``) with their WebRTC viewers and the guard that holds those to the
playback policy, the safety control (freezes, with the ledger's kill switch), on-frame
moderation and post scanning in the worker processes, and the background loops (VOD retention,
the hub's view refresh). The API role stops after the first part (with, given Redis, its view of
the ingest nodes' placement); the ingest role runs the live path without the background loops and
beats its load and streams into Redis (``teezu/placement.py``); the worker role runs the
background loops and post scanning without any media.

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
from typing import Literal

import asyncpg
from aiohttp import web

from api.agegate import places as age_places
from api.analytics.facts import WhepFacts
from api.auth.passwords import HASHER, PasswordHasher
from api.keys import EDGE, MODERATION, PLACEMENT, POOL, POST_SCANNER, PUBSUB, SAFETY
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
from live.broadcasts import BROADCASTS, LiveBroadcasts, stream_channel
from live.whep import VIEWERS, Viewers
from live.whep_guard import WHEP_GUARD, WhepGuard
from teezu.db import apply_migrations, create_pool
from teezu.placement import NodeBeat, Placement
from teezu.pubsub import PubSub, create_pubsub
from teezu.settings import Settings
from teezu.storage import Storage
from workers.analytics import run_hub_refresh
from workers.moderation import ModerationPool
from workers.retention import run_retention

log = logging.getLogger(__name__)

# serve: every role in one process (the default); api: REST, Socket.IO, pages, the front door's
# placement answers; ingest: the live path without the background loops; worker: the
# background loops (VOD retention, the hub's view refresh, post scanning) and no media.
Role = Literal["serve", "api", "ingest", "worker"]


@dataclass(frozen=True)
class Node:
    """What the app's assembly built before start-up that the lifecycle starts or closes."""

    settings: Settings
    dsn: str
    role: Role
    storage: Storage
    forensic: ForensicRenderer
    policy: PlaybackPolicy
    revocations: RevocationListener

    @property
    def ingest(self) -> bool:
        """Takes publishers: the live path below runs."""
        return self.role in ("serve", "ingest")

    @property
    def loops(self) -> bool:
        """Runs the background loops (one copy or several: each job is claimed once)."""
        return self.role in ("serve", "worker")


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
            if node.role == "api":
                async with _placement(app, settings):
                    yield
                return
            if node.role == "worker":
                async with _worker_loops(app, node, pool, pubsub):
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
    scanner = _post_scanner(settings, pool, storage, pubsub, moderation) if node.loops else None

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
    beat = None
    if node.role == "ingest" and settings.redis_url:
        beat = NodeBeat(
            settings.redis_url,
            settings.node_id,
            lambda: list(broadcasts),
            interval=settings.cluster_heartbeat_interval,
            ttl=settings.cluster_heartbeat_ttl,
        )
        beat.start()
    loops = _background_loops(settings, pool, storage) if node.loops else []
    try:
        yield
    finally:
        if beat is not None:
            await beat.close()
        if edge is not None:
            await edge.close()
        await _stop(loops)
        await guard.close()
        await viewers.close()
        await broadcasts.close()
        await safety.close()
        if scanner is not None:
            await scanner.close()
        if moderation is not None:
            await moderation.close()


def _background_loops(
    settings: Settings, pool: asyncpg.Pool, storage: Storage
) -> list[asyncio.Task[None]]:
    loop = asyncio.get_running_loop()
    return [
        loop.create_task(
            run_retention(pool, storage, settings.retention_interval), name="vod-retention"
        ),
        loop.create_task(
            run_hub_refresh(pool, settings.analytics_refresh_interval), name="hub-refresh"
        ),
    ]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def _placement(app: web.Application, settings: Settings) -> AsyncIterator[None]:
    """An API node's view of the ingest nodes in Redis (the front door asks it where a stream
    is, ``api/placement_routes.py``); none without Redis (one node: nothing to place)."""
    if not settings.redis_url:
        yield
        return
    placement = Placement(settings.redis_url, ttl=settings.cluster_heartbeat_ttl)
    app[PLACEMENT] = placement
    try:
        yield
    finally:
        await placement.close()


@contextlib.asynccontextmanager
async def _worker_loops(
    app: web.Application, node: Node, pool: asyncpg.Pool, pubsub: PubSub
) -> AsyncIterator[None]:
    """The worker role: the background loops and post scanning, without any media."""
    settings = node.settings
    scanner = _post_scanner(settings, pool, node.storage, pubsub, None)
    if scanner is not None:
        await scanner.start()
        app[POST_SCANNER] = scanner
    loops = _background_loops(settings, pool, node.storage)
    placement = None
    if settings.redis_url:
        placement = Placement(settings.redis_url, ttl=settings.cluster_heartbeat_ttl)
        loops.append(
            asyncio.get_running_loop().create_task(
                _end_lost_streams(app, settings, pool, pubsub, placement), name="lost-streams"
            )
        )
    try:
        yield
    finally:
        await _stop(loops)
        if placement is not None:
            await placement.close()
        if scanner is not None:
            await scanner.close()


async def _end_lost_streams(
    app: web.Application,
    settings: Settings,
    pool: asyncpg.Pool,
    pubsub: PubSub,
    placement: Placement,
) -> None:
    """End the live streams of ingest nodes whose heartbeat expired (``kill -9``, a lost host):
    the row, the stream's billing (the ledger's own once-only ending) and the announcement
    players and the studio listen to. A node that never joined placement (``teezu serve``) is
    not judged here: its own start-up ends what it left live."""
    while True:
        await asyncio.sleep(settings.cluster_heartbeat_interval)
        try:
            healthy = {n.node for n in await placement.nodes()}
            rows = await pool.fetch(
                "SELECT id, ingest_node FROM streams "
                "WHERE state = 'live' AND ingest_node IS NOT NULL"
            )
            for row in rows:
                node = row["ingest_node"]
                if node in healthy or not await placement.known(node):
                    continue
                if not await store.end_lost(pool, row["id"], node=node):
                    continue  # ended meanwhile (the node came back, or another worker)
                log.warning("ingest node %s lost: stream %s ended", node, row["id"])
                await app[LEDGER].stream_ended(row["id"])
                await pubsub.publish(
                    stream_channel(str(row["id"])), {"state": "ended", "reason": "node lost"}
                )
        except Exception:  # the database or Redis away: the next sweep tries again
            log.exception("lost-stream sweep failed")


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
