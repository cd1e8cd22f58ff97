"""The aiohttp application: every HTTP role of a node (API, WHIP ingest, HLS origin, pages)."""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from api import health, openapi, pages, placement_routes, realtime
from api import metrics as metrics_routes
from api.admin import routes as admin_routes
from api.agegate import routes as agegate_routes
from api.agegate.gate import AGE_GATE, AgeGate
from api.analytics import hub_routes
from api.analytics import routes as analytics_routes
from api.auth import routes as auth_routes
from api.auth.authenticator import SessionAuthenticator, principal_middleware
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
    FORENSIC,
    POOL,
    SETTINGS,
)
from api.matching import routes as matching_routes
from api.memberships import routes as membership_routes
from api.messages import routes as message_routes
from api.metrics import metrics_middleware
from api.moderation import routes as moderation_routes
from api.mood import routes as mood_routes
from api.posts import routes as post_routes
from api.posts import story_routes
from api.posts.downloads import ForensicRenderer
from api.privacy import routes as privacy_routes
from api.ratelimit import DEFAULT_LIMIT, rate_limit_middleware
from api.reports import routes as report_routes
from api.routing import RateLimit
from api.security import (
    CSP,
    browser_middleware,
    content_security_policy,
    security_headers_middleware,
)
from api.services import routes as service_routes
from api.streams import routes as stream_routes
from api.streams.revocations import REVOCATIONS, RevocationListener
from api.subscriptions import routes as subscription_routes
from api.unlockables import routes as unlockable_routes
from api.users import routes as user_routes
from api.verification import routes as verification_routes
from api.wallet import payout_routes, show_routes
from api.wallet import routes as wallet_routes
from api.wallet import stream_routes as wallet_stream_routes
from hls import origin
from hls.gate import StreamAccess
from ingest import whip
from live import whep
from teezu.metrics import Metrics
from teezu.node import Node, Role
from teezu.node import lifecycle as node_lifecycle
from teezu.settings import Settings
from teezu.storage import STORAGE, create_storage

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, dsn: str, ingest: bool = True, role: Role | None = None
) -> web.Application:
    """Build the application; the database pool opens (and migrations run) at start-up.

    ``ingest=False`` is the API role (``teezu api``): REST, Socket.IO, pages and the origin for
    stored media, without WHIP/WHEP publishers, on-frame moderation or the VOD retention
    worker, so several API processes can run on one host behind a load balancer. ``role``
    names a cluster role instead (``teezu/node.py``: serve, api, ingest, worker).
    """
    if role is None:
        role = "serve" if ingest else "api"
    ingest = role in ("serve", "ingest")
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
    forensic = ForensicRenderer(settings.forensic_key_bytes(), settings.forensic_render_workers)
    app[FORENSIC] = forensic

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

    app.cleanup_ctx.append(
        node_lifecycle(
            Node(
                settings,
                dsn,
                role,
                storage=storage,
                forensic=forensic,
                policy=policy,
                revocations=revocations,
            )
        )
    )
    metrics_routes.setup(app, Metrics())  # its lifecycle hooks into the edge: after the node's
    wallet_routes.setup(app)  # its lifecycle needs the pool: after the node's
    wallet_stream_routes.api.add_to(app)  # tip menus and goals
    show_routes.api.add_to(app)  # shows, tickets, pledges, profile tips
    subscription_routes.setup(app)  # its renewal job needs the ledger: after the wallet's
    membership_routes.setup(app)  # likewise
    service_routes.setup(app)  # bookings hold tokens: after the wallet's
    unlockable_routes.setup(app)  # a tip hook on the wallet's money events: after the wallet's
    privacy_routes.setup(app)  # likewise
    payout_routes.setup(app)  # needs the wallet's ledger: after it
    matching_routes.setup(app)  # the vibe index needs the pool: after ours
    health.add_routes(app)
    placement_routes.add_routes(app)
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
    if ingest:
        whip.add_routes(app)
        whep.add_routes(app)
    origin.add_routes(app, policy)  # live outputs: the node's broadcasts (teezu/node.py)
    pages.add_routes(app)
    return app
