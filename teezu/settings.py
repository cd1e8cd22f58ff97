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
    playback_token_ttl: int = 6 * 3600

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
    def media_dir(self) -> Path:
        return self.storage_dir or self.var_dir / "media"

    def playback_key_bytes(self) -> bytes:
        """The playback-token key: configured, or generated once into var_dir (mode 0600)."""
        if self.playback_key:
            return self.playback_key.encode()
        path = self.var_dir / "playback.key"
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
