"""SQL for the ``broadcasts`` table: each run of a stream, and the VODs recorded ones leave."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teezu.db import Db

_COLUMNS = (
    "id, stream_id, run, recording, started_at, ended_at, duration_seconds, renditions, "
    "vod_expires_at, purged_at"
)


@dataclass(frozen=True)
class BroadcastRow:
    id: uuid.UUID
    stream_id: uuid.UUID
    run: str
    recording: bool
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    renditions: list[str]
    vod_expires_at: datetime | None
    purged_at: datetime | None

    def vod(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "startedAt": self.started_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "durationSeconds": self.duration_seconds,
            "renditions": self.renditions,
            "expiresAt": self.vod_expires_at.isoformat() if self.vod_expires_at else None,
            "playbackUrl": f"/hls/{self.stream_id}/{self.run}/vod.m3u8",
        }


def _row(r: Any) -> BroadcastRow:
    return BroadcastRow(**{**dict(r), "renditions": list(r["renditions"])})


async def start_broadcast(db: Db, stream_id: uuid.UUID, run: str, *, recording: bool) -> None:
    await db.execute(
        "INSERT INTO broadcasts (id, stream_id, run, recording) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        stream_id,
        run,
        recording,
    )


async def end_broadcast(
    db: Db,
    stream_id: uuid.UUID,
    run: str,
    *,
    duration: float,
    renditions: list[str],
    retention_seconds: float,
) -> None:
    """Close the run; a recorded one becomes a VOD kept for ``retention_seconds``."""
    await db.execute(
        "UPDATE broadcasts SET ended_at = now(), duration_seconds = $3, renditions = $4, "
        "vod_expires_at = CASE WHEN recording THEN now() + make_interval(secs => $5) END "
        "WHERE stream_id = $1 AND run = $2",
        stream_id,
        run,
        duration,
        renditions,
        retention_seconds,
    )


async def unrecorded_runs(db: Db, stream_id: uuid.UUID) -> list[str]:
    """Storage folders of this stream's ended, unrecorded runs not yet deleted."""
    rows = await db.fetch(
        "SELECT run FROM broadcasts WHERE stream_id = $1 AND NOT recording "
        "AND ended_at IS NOT NULL AND purged_at IS NULL",
        stream_id,
    )
    return [r["run"] for r in rows]


async def list_vods(db: Db, stream_id: uuid.UUID, *, limit: int = 50) -> list[BroadcastRow]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM broadcasts WHERE stream_id = $1 AND recording "
        "AND ended_at IS NOT NULL AND purged_at IS NULL ORDER BY started_at DESC LIMIT $2",
        stream_id,
        limit,
    )
    return [_row(r) for r in rows]


async def expired_vods(db: Db, *, limit: int = 100) -> list[BroadcastRow]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM broadcasts WHERE purged_at IS NULL "
        "AND vod_expires_at IS NOT NULL AND vod_expires_at <= now() "
        "ORDER BY vod_expires_at LIMIT $1",
        limit,
    )
    return [_row(r) for r in rows]


async def mark_purged(db: Db, stream_id: uuid.UUID, run: str) -> None:
    await db.execute(
        "UPDATE broadcasts SET purged_at = now() WHERE stream_id = $1 AND run = $2",
        stream_id,
        run,
    )
