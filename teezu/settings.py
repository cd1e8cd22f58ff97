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

    model_config = SettingsConfigDict(env_prefix="TEEZU_", extra="ignore")

    # --- process / network
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # base URL printed for people (studio/watch links); derived if empty
    node_id: str = Field(default_factory=socket.gethostname)
    # `teezu serve`'s event loop: uvloop costs the LL-HLS edge ~20% less CPU per request than
    # asyncio's own and allocates far less (fewer GC pauses) (loadtests/bench_origin.py --loop).
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    log_format: Literal["json", "console"] = "console"
    log_level: str = "INFO"

    # --- state
    var_dir: Path = Path("var")
    database_url: str = ""  # empty: embedded PostgreSQL under var_dir/pg
    redis_url: str = ""  # empty: in-process pub/sub (one node only)
    storage_dir: Path | None = None  # local media storage; default var_dir/media
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str = ""  # empty: AWS; e.g. http://127.0.0.1:9000 for MinIO
    s3_region: str = "us-east-1"
    s3_access_key: str = ""  # empty: boto3's default credentials (environment, IAM role)
    s3_secret_key: str = ""
    cdn_base_url: str = ""  # when set, the origin redirects segments there

    # --- playback access
    playback_key: str = ""  # HMAC key for playback tokens; empty: var_dir/playback.key (one node)
    # Seconds a playback token from the API lives (at most hls.access.MAX_LIFETIME): players
    # ask for a new one before then, and revoked access is re-decided at every renewal.
    playback_token_ttl: int = Field(default=300, ge=60, le=3600)
    # Browser security. Origins allowed to make cookie-authenticated requests and to open
    # Socket.IO connections; empty: the node's own base URL (plus its 127.0.0.1/localhost twin).
    allowed_origins: list[str] = []
    cookie_secure: bool | None = None  # None: Secure unless base_url is plain http

    # --- accounts and API limits
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)  # the product spec says 12
    session_idle_days: float = 14.0  # a session unused this long expires (sliding)
    session_max_days: float = 60.0  # and none lives longer than this
    rate_limit_requests: int = 100  # per account and per IP, in each window, on /api/
    rate_limit_window: int = 60  # seconds
    auth_rate_limit_requests: int = 20  # sign-up, sign-in, 2FA, password: per window, own bucket
    login_backoff_after: int = 5  # failed logins on one account before back-off starts
    login_backoff_ip_after: int = 20  # failed logins from one IP (NAT: more people per IP)
    login_backoff_max: int = 900  # longest wait, seconds
    # seconds after a password confirmation (sign-in or /auth/reauth) during which 2FA, the
    # e-mail address and recovery codes may be changed without confirming again
    reauth_window: int = 600
    avatar_max_bytes: int = 5 * 1024 * 1024

    # --- money (api/wallet)
    tip_min: int = 1  # tokens
    tip_max: int = 100_000
    # Payment providers to enable. "sandbox" is the built-in test provider: it confirms,
    # declines or charges back without any money moving, so a deployment that sells tokens
    # for real money must replace it with a real provider.
    payment_providers: list[str] = ["sandbox"]
    payment_webhook_secret: str = ""  # empty: var_dir/payment-webhook.key (one node)
    ledger_job_interval: float = 5.0  # seconds between hold expiry + balance roll-up passes
    # Subscriptions (api/subscriptions). A period is a calendar month unless
    # TEEZU_SUBSCRIPTION_PERIOD_SECONDS sets a fixed length (tests use a few seconds).
    subscription_period_seconds: int = Field(default=0, ge=0)
    subscription_grace_seconds: int = Field(default=3 * 24 * 3600, ge=0)  # after a failed renewal
    subscription_retry_seconds: int = Field(default=6 * 3600, ge=1)  # between renewal attempts
    subscription_job_interval: float = 30.0  # seconds between renewal passes
    # Private shows are billed per this many seconds ("a minute"; shorter in tests).
    show_billing_interval_seconds: float = Field(default=60.0, gt=0)
    ticket_hold_seconds: int = Field(default=86_400, ge=60)  # a ticket's hold until the show
    pledge_hold_seconds: int = Field(default=86_400, ge=60)  # a pledge's hold until the goal
    idempotency_ttl_hours: int = Field(default=24, ge=0)  # money calls' keys are kept this long
    # Payouts (api/wallet/payouts.py). Earnings become withdrawable after a hold period:
    # new_creator_maturity_days while the creator's account is younger than new_creator_days,
    # else earnings_maturity_days.
    earnings_maturity_days: int = Field(default=7, ge=0)
    new_creator_maturity_days: int = Field(default=30, ge=0)
    new_creator_days: int = Field(default=90, ge=0)
    payout_min: int = Field(default=1000, ge=1)  # tokens
    # Basis points of each approved payout withheld into the chargeback reserve (200 = 2%).
    payout_reserve_bps: int = Field(default=200, ge=0, le=10_000)

    # --- WHIP ingest
    ice_servers: list[str] = []  # e.g. ["stun:stun.example.org:3478"]; none on closed networks
    whip_max_body_bytes: int = 64 * 1024
    publisher_media_timeout: float = 10.0  # seconds without any media before a publisher is ended
    live_heartbeat_interval: float = 5.0
    live_stale_after: float = 30.0  # a 'live' row not heartbeated this long may be claimed again
    whip_start_bitrate_kbps: int = 2000
    whip_min_bitrate_kbps: int = 600
    whip_max_bitrate_kbps: int = 4000

    # --- engine output
    output_fps: int = 30
    renditions: list[Rendition] = Field(default_factory=lambda: list(DEFAULT_LADDER))
    audio_bitrate: int = 128_000
    x264_preset: str = "veryfast"
    max_queued_seconds: float = 2.0  # encoder backlog beyond which video frames are dropped
    gap_fill_after: float = 0.5  # a missing track is filled (black/silence) after this lag

    # --- HLS
    segment_duration: float = 2.0
    part_duration: float = 1 / 3  # LL-HLS partial segment target (a whole number of frames)
    dvr_window: float = 30.0  # seconds of live playlist a viewer can seek back into
    segment_retention: int = 4  # extra segments kept after leaving the window
    vod_retention_days: float = 30.0  # recorded broadcasts are deleted this long after ending
    retention_interval: float = 600.0  # seconds between passes of the VOD retention worker

    # --- LL-HLS edge (hls/edge.py): the live viewers' hot path, in the same process as the app
    edge_port: int | None = None  # None: port + 1; 0: no edge (the app's /hls/ serves alone)
    # base URL players reach the edge at; empty: an allowed request host (below) + the edge port
    edge_public_url: str = ""
    # Host names (no port) a request's Host header may name for URLs built from it (the edge's
    # URL when edge_public_url is empty; the edge's redirects to the app when public_url is
    # empty). Any other Host gets the configured base URL's host. Empty: the hosts of the
    # allowed origins and of edge_public_url.
    allowed_hosts: list[str] = []
    edge_idle_timeout: float = 75.0  # seconds a keep-alive connection may sit with no request
    # --- chat (Socket.IO)
    # a room's messages go out as one packet per tick of this many seconds; 0: each at once
    chat_batch_interval: float = 0.05
    chat_rate_limit: int = 20  # messages per sender per window, across nodes
    chat_rate_window: float = 10.0  # seconds
    chat_typing_interval: float = 2.0  # s between two typing notices of one person in one room
    chat_viewers_interval: float = 1.0  # s between viewer-count updates of a changed room
    chat_presence_ttl: float = 60.0  # s a dead node's presence entries live on in Redis
    chat_session_recheck: float = 60.0  # s before an open connection's session is read again
    chat_filter: str = "profanity-check"  # api.chat.filter provider name; "none": banned words only
    # --- trust and safety: on-frame moderation (see README "Trust and safety")
    moderation_enabled: bool = True
    moderation_detector: str = "nudenet"  # a registered name, or "package.module:Factory"
    moderation_workers: int = Field(default=1, ge=1, le=32)  # worker processes per node
    moderation_queue_per_stream: int = Field(default=4, ge=1)  # samples waiting; oldest dropped
    moderation_interval: float = Field(default=1.0, gt=0)  # a sample at least this often (s)
    moderation_scene_threshold: float = 12.0  # mean luma change (0-255) that counts as a scene
    moderation_min_gap: float = 0.5  # no two samples closer than this (s): at most 2 a second
    moderation_sample_width: int = Field(default=320, ge=64, le=1920)  # sent to workers
    moderation_policy: Path | None = None  # JSON policy; None: api/moderation/default_policy.json
    moderation_flag_cooldown: float = 30.0  # per stream and rule: one review flag this often
    # --- posts: uploads scanned by the moderation workers before they are published
    post_scan_enabled: bool = True  # this node scans pending posts (and avatars) in its workers
    post_max_bytes: int = Field(default=32 * 1024**2, ge=1024)  # one image or video
    post_max_video_seconds: float = Field(default=60.0, gt=0)
    post_scan_frames: int = Field(default=5, ge=1, le=30)  # pictures judged per video
    post_scan_poll: float = Field(default=5.0, gt=0)  # s between looks for pending posts
    post_scan_claim_timeout: float = Field(default=120.0, gt=0)  # a claim older than this is free
    forensic_render_workers: int = Field(default=1, ge=1, le=8)  # processes marking downloads
    # --- visible watermark (platform mark + creator handle, burned into every rendition)
    watermark_enabled: bool = True
    watermark_text: str = "TeezU"
    watermark_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = (
        "bottom-right"
    )
    watermark_opacity: float = Field(default=0.6, ge=0.0, le=1.0)
    watermark_size: float = Field(default=0.04, gt=0, le=0.3)  # text height / frame height
    # --- forensic (per-viewer) watermark for media that leaves the platform
    forensic_key: str = ""  # secret; empty: var_dir/forensic.key (generated once)
    # --- trust and safety: identity records and per-session consent
    # Go-live needs every performer verified and checked in. On in production and in the test
    # suite (tests/performers.py verifies performers through the review API); `teezu serve
    # --demo` seeds a demo creator that passes it.
    require_verification: bool = True
    identity_key: str = ""  # secret; empty: var_dir/identity.key (generated once). Keep it.
    identity_max_image_bytes: int = Field(default=8 * 1024**2, ge=1024)
    # --- trust and safety: the viewer age gate and geo-blocks (api/agegate/)
    # Adult streams need a playback token whose claims meet the viewer's jurisdiction's rule
    # (age_gate_rules). On in production; the shared test server turns it off so unrelated
    # tests can watch adult-rated streams (tests/integration/test_age_gate.py runs it on).
    age_gate_enabled: bool = True
    # The built-in GeoIP provider: CIDR -> "CC" or "CC-RRR" (ISO 3166-1 / 3166-2), e.g.
    # {"203.0.113.0/24": "GB", "198.51.100.0/24": "US-TX"}. Longest prefix wins; no match:
    # unknown jurisdiction (the default rule). A real deployment plugs MaxMind in instead.
    geoip_ranges: dict[str, str] = Field(default_factory=dict)
    # Proxies (CIDRs) whose X-Viewer-Country header (e.g. a CDN's GeoIP answer) is believed.
    # Empty (the default): the header is ignored from everyone.
    geoip_trusted_proxies: list[str] = Field(default_factory=list)
    # --- GDPR (api/privacy/)
    privacy_export_keep_days: float = Field(default=7.0, gt=0)  # a finished export's zip
    # How long an erased account's retained records (ledger, identity, consent, moderation
    # log) are kept: the longest statutory period among them (Dutch bookkeeping: 7 years).
    privacy_retain_years: int = Field(default=7, ge=1, le=100)

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
