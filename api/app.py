"""The aiohttp application: every HTTP role of a node (API, WHIP ingest, HLS origin, pages)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from api import health, openapi, pages, realtime
from api import metrics as metrics_routes
from api.admin import routes as admin_routes
from api.agegate import places as age_places
from api.agegate import routes as agegate_routes
from api.agegate.gate import AGE_GATE, AgeGate
from api.ai import routes as ai_routes
from api.analytics import hub_routes
from api.analytics import routes as analytics_routes
from api.analytics.facts import WhepFacts
from api.auth import routes as auth_routes
from api.auth.authenticator import SessionAuthenticator, principal_middleware
from api.auth.passwords import HASHER, PasswordHasher
from api.auth.principal import AUTHENTICATOR
from api.blocks import routes as block_routes
from api.chat import routes as chat_routes
from api.chat import safety_routes as chat_safety_routes
from api.comments import routes as comment_routes
from api.consent import routes as consent_routes
from api.engagement import realtime as engagement_realtime
from api.engagement import routes as engagement_routes
from api.envelope import envelope_middleware
from api.feed import routes as feed_routes
from api.keys import (
    DOCUMENTS,
    EDGE,
    FORENSIC,
    MODERATION,
    POOL,
    POST_SCANNER,
    PUBSUB,
    SAFETY,
    SETTINGS,
)
from api.matching import routes as matching_routes
from api.messages import routes as message_routes
from api.metrics import metrics_middleware
from api.moderation import routes as moderation_routes
from api.moderation.monitor import LiveModeration
from api.moderation.policy import load_policy
from api.mood import routes as mood_routes
from api.posts import routes as post_routes
from api.posts import story_routes
from api.posts.downloads import ForensicRenderer
from api.posts.scanner import PostScanner
from api.privacy import routes as privacy_routes
from api.ratelimit import COUNTER, DEFAULT_LIMIT, create_counter, rate_limit_middleware
from api.reports import routes as report_routes
from api.routing import RateLimit
from api.security import (
    CSP,
    browser_middleware,
    content_security_policy,
    security_headers_middleware,
)
from api.streams import routes as stream_routes
from api.streams import store
from api.streams.revocations import REVOCATIONS, RevocationListener
from api.subscriptions import routes as subscription_routes
from api.unlockables import routes as unlockable_routes
from api.users import routes as user_routes
from api.users.store import sync_rbac_tables
from api.verification import routes as verification_routes
from api.wallet import payout_routes, show_routes
from api.wallet import routes as wallet_routes
from api.wallet import stream_routes as wallet_stream_routes
from api.wallet.service import LEDGER
from engine import watermark
from hls import origin
from hls.edge import LlHlsEdge
from hls.gate import StreamAccess
from hls.output import HlsOutput
from ingest import whep, whip
from ingest.safety import SafetyControl
from ingest.whep_guard import WHEP_GUARD, WhepGuard
from teezu.db import apply_migrations, create_pool
from teezu.documents import Documents
from teezu.metrics import Metrics
from teezu.pubsub import PubSub, create_pubsub
from teezu.settings import Settings
from teezu.storage import STORAGE, Storage, create_storage
from workers.analytics import run_hub_refresh
from workers.moderation import ModerationPool
from workers.retention import run_retention

log = logging.getLogger(__name__)


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


def create_app(settings: Settings, *, dsn: str, ingest: bool = True) -> web.Application:
    """Build the application; the database pool opens (and migrations run) at start-up.

    ``ingest=False`` is the API role (``teezu api``): REST, Socket.IO, pages and the origin for
    stored media, without WHIP/WHEP publishers, on-frame moderation or the VOD retention
    worker, so several API processes can run on one host behind a load balancer.
    """
    # Outermost first: security headers see every response; the envelope turns every error
    # below it into JSON; CSRF/CORS refuse before anyone is looked up; the caller is known
    # before the rate limiter counts them.
    app = web.Application(
        middlewares=[
            metrics_middleware,
            security_headers_middleware,
            envelope_middleware,
            browser_middleware,
            principal_middleware,
            rate_limit_middleware,
        ],
        client_max_size=1024**2,
    )
    app[SETTINGS] = settings
    app[CSP] = content_security_policy(settings)
    app[DEFAULT_LIMIT] = RateLimit(settings.rate_limit_requests, settings.rate_limit_window)
    app[AUTHENTICATOR] = SessionAuthenticator(lambda: app[POOL], settings)
    storage = create_storage(settings)
    app[STORAGE] = storage
    documents = Documents(settings.mongodb_url, var_dir=settings.var_dir)
    app[DOCUMENTS] = documents
    forensic = ForensicRenderer(settings.forensic_key_bytes(), settings.forensic_render_workers)
    app[FORENSIC] = forensic
    live: dict[str, HlsOutput] = {}  # this node's live broadcasts, shared by ingest and origin

    gate = AgeGate(settings, lambda: app[POOL])
    app[AGE_GATE] = gate

    async def access_of(stream_id: str) -> StreamAccess | None:
        # visibility, age gate (rating/explicit and the rules) and geo-blocks in one query
        return await gate.access(uuid.UUID(stream_id))

    policy = origin.PlaybackPolicy(
        settings.playback_key_bytes(), access_of, locate=gate.locator.locate
    )
    # Changes of who may watch reach the policy's cache (and WHEP viewers) as they commit.
    revocations = RevocationListener(dsn, policy)
    app[REVOCATIONS] = revocations

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        pool = await create_pool(dsn)
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
            revocations.start()
            if not ingest:
                yield
                return
            ended = await store.end_all_on_node(pool, node=settings.node_id)
            if ended:
                log.warning("ended %d broadcasts left live by a previous run", ended)
            edge = None
            if settings.edge_listen_port:
                # The live viewers' hot path, on this loop: it reads the same live table.
                edge = LlHlsEdge(
                    outputs=live,
                    policy=policy,
                    app_port=settings.port,
                    app_url=settings.public_url,
                    hosts=settings.hosts,
                    idle_timeout=settings.edge_idle_timeout,
                )
                await edge.start(settings.host, settings.edge_listen_port)
                app[EDGE] = edge
            publishers = whip.Publishers(
                settings=settings, pool=pool, storage=storage, pubsub=pubsub, outputs=live
            )
            app[whip.PUBLISHERS] = publishers
            viewers = whep.Viewers()
            app[whep.VIEWERS] = viewers
            whep_facts = WhepFacts(pool)
            viewers.started_hooks.append(whep_facts.started)
            viewers.stopped_hooks.append(whep_facts.stopped)
            guard = WhepGuard(policy)
            app[WHEP_GUARD] = guard
            revocations.on_change.append(guard.changed)
            guard.start()
            publishers.ended_hooks.append(viewers.stop_stream)
            if settings.watermark_enabled:
                publishers.frame_hooks.append(
                    lambda s: watermark.for_creator(s.creator_handle, settings)
                )
            safety = SafetyControl(publishers, storage=storage, pool=pool, pubsub=pubsub)
            app[SAFETY] = safety

            # The ledger's kill switch on every freeze (safe word, consent revocation,
            # moderation) and on the broadcast's end. The ledger starts after this lifecycle
            # (`wallet_routes.setup`), so it is looked up when called.
            async def stop_billing(stream_id: str, reason: str) -> None:
                await app[LEDGER].stop_billing(uuid.UUID(stream_id), reason)

            async def stream_ended(stream_id: str) -> None:
                await app[LEDGER].stream_ended(uuid.UUID(stream_id))

            safety.on_frozen.append(stop_billing)
            publishers.ended_hooks.append(stream_ended)
            safety.start()
            moderation = await _moderation(settings, pool, storage, pubsub, safety)
            if moderation is not None:
                await moderation.start()
                app[MODERATION] = moderation
                publishers.moderation = moderation
                publishers.ended_hooks.append(moderation.stop_stream)
            scanner = _post_scanner(settings, pool, storage, pubsub, moderation)
            if scanner is not None:
                await scanner.start()
                app[POST_SCANNER] = scanner
            publishers.start()
            retention = asyncio.get_running_loop().create_task(
                run_retention(pool, storage, settings.retention_interval), name="vod-retention"
            )
            hub_refresh = asyncio.get_running_loop().create_task(
                run_hub_refresh(pool, settings.analytics_refresh_interval), name="hub-refresh"
            )
            # Everything loaded so far (modules, the app, the codecs' Python side) lives as long
            # as the process: keep it out of the cyclic GC's full collections, which otherwise
            # scan it all and pause the loop ~80 ms mid-burst (measured by bench_origin.py).
            gc.freeze()
            yield
            if edge is not None:
                await edge.close()
            for task in (retention, hub_refresh):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await guard.close()
            await viewers.close()
            await publishers.close()
            await safety.close()
            if scanner is not None:
                await scanner.close()
            if moderation is not None:
                await moderation.close()
        finally:
            await revocations.close()
            await forensic.close()
            await storage.close()
            await documents.close()
            await pubsub.close()
            await counter.close()
            hasher.close()
            await pool.close()

    app.cleanup_ctx.append(lifecycle)
    metrics_routes.setup(app, Metrics())  # its lifecycle hooks into the edge: after ours
    wallet_routes.setup(app)  # its lifecycle needs the pool: after ours
    wallet_stream_routes.api.add_to(app)  # tip menus and goals
    show_routes.api.add_to(app)  # shows, tickets, pledges, profile tips
    subscription_routes.setup(app)  # its renewal job needs the ledger: after the wallet's
    unlockable_routes.setup(app)  # a tip hook on the wallet's money events: after the wallet's
    privacy_routes.setup(app)  # likewise
    payout_routes.setup(app)  # needs the wallet's ledger: after it
    matching_routes.setup(app)  # the vibe index needs the pool: after ours
    health.add_routes(app)
    for declared in (
        auth_routes.api,
        user_routes.api,
        stream_routes.api,
        chat_routes.api,
        chat_safety_routes.api,
        admin_routes.api,
        analytics_routes.api,
        hub_routes.api,
        consent_routes.api,
        report_routes.api,
        moderation_routes.api,
        post_routes.api,
        agegate_routes.api,
        engagement_routes.api,
        block_routes.api,
        comment_routes.api,
        feed_routes.api,
        story_routes.api,
        message_routes.api,
    ):
        declared.add_to(app)
    verification_routes.setup(app)
    openapi.add_routes(app)
    realtime.attach(app, settings)
    engagement_realtime.attach(app, settings)  # mood strip, polls: after the chat
    mood_routes.setup(app)  # hooks into the chat and the embedding workers: after both
    ai_routes.setup(app)  # the twin and companions: the chat's filter, the embedding workers
    if ingest:
        whip.add_routes(app)
        whep.add_routes(app)
    origin.add_routes(app, live, policy)
    pages.add_routes(app)
    return app
