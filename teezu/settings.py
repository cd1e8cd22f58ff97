"""One settings object, built once from ``TEEZU_*`` environment variables and passed down."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    output_width: int = 1280
    output_height: int = 720
    output_fps: int = 30
    video_bitrate: int = 2_500_000
    audio_bitrate: int = 128_000
    x264_preset: str = "veryfast"
    max_queued_seconds: float = 2.0  # encoder backlog beyond which video frames are dropped
    gap_fill_after: float = 0.5  # a missing track is filled (black/silence) after this lag

    # --- HLS
    segment_duration: float = 2.0
    playlist_window: int = 6  # segments listed in a live playlist
    segment_retention: int = 4  # extra segments kept after leaving the window

    @field_validator("segment_duration")
    @classmethod
    def _segment_positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("segment_duration must be positive")
        return v

    @property
    def media_dir(self) -> Path:
        return self.storage_dir or self.var_dir / "media"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host
        return f"http://{host}:{self.port}"
