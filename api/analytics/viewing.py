"""Viewing sessions (``stream_viewers``) and player QoE beacons (``stream_qoe_minutes``).

An LL-HLS session is opened by the server when a player gets a playback token or asks for a
viewing session, so what it counts survives any cache tier in front of the origin. The player's
beacons then add the seconds it played, but never more than the server's own clock allows since
the session's previous beacon (plus `SLACK`): a player can under-report, never inflate. A beacon
names its session and its stream; a session id of another stream is a 404, so one stream's
beacons cannot move another's numbers. A WHEP session is timed by the server alone, from its
first packet sent to its end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from teezu.db import Db

SLACK = 1.0  # seconds a beacon may claim beyond the time since the previous one
MAX_STEP = 60.0  # most seconds one beacon can add
BEACON_INTERVAL = 10.0  # what players are told (seconds between beacons)
MIN_BEACON_INTERVAL = 2.0  # beacons closer than this are refused (429), final ones excepted
IDLE_AFTER = 90.0  # an LL-HLS session with no beacon or token refresh this long has left


def credit(played: float, since_last: float) -> float:
    """Seconds a beacon adds: what the player says it played, bounded by the server's clock."""
    return max(0.0, min(played, since_last + SLACK, MAX_STEP))


@dataclass(frozen=True)
class Qoe:
    """One beacon's quality figures (each optional)."""

    latency: float | None = None  # seconds behind live
    stalls: int = 0
    stall_seconds: float = 0.0
    bitrate_switches: int = 0
    startup_ms: float | None = None


async def open_session(
    db: Db,
    stream_id: uuid.UUID,
    *,
    kind: str,
    viewer_id: uuid.UUID | None,
    anonymous_id: str | None,
    country: str,
) -> uuid.UUID:
    session_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO stream_viewers (id, stream_id, viewer_id, anonymous_id, kind, country) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        session_id,
        stream_id,
        viewer_id,
        anonymous_id,
        kind,
        country[:2].upper() if country else "",
    )
    return session_id


async def touch(db: Db, session_id: uuid.UUID, stream_id: uuid.UUID) -> bool:
    """A token refresh: the session is still there (False: unknown, of another stream, or over)."""
    done = await db.execute(
        "UPDATE stream_viewers SET last_seen_at = now() "
        "WHERE id = $1 AND stream_id = $2 AND left_at IS NULL",
        session_id,
        stream_id,
    )
    return done.endswith(" 1")


@dataclass(frozen=True)
class BeaconResult:
    outcome: str  # "ok", "unknown", "too_soon", "ended"
    watch_seconds: float = 0.0
    retry_after: float = 0.0


_BEACON = f"""
UPDATE stream_viewers SET
    watch_seconds = watch_seconds + GREATEST(0, LEAST(
        $3::float8,
        extract(epoch FROM now() - coalesce(last_beacon_at, joined_at))::float8 + {SLACK},
        {MAX_STEP})),
    last_beacon_at = now(),
    last_seen_at = now(),
    beacons = beacons + 1,
    left_at = CASE WHEN $4 THEN now() END
WHERE id = $1 AND stream_id = $2 AND kind = 'llhls' AND left_at IS NULL
  AND ($4 OR last_beacon_at IS NULL
       OR last_beacon_at <= now() - make_interval(secs => {MIN_BEACON_INTERVAL}))
RETURNING watch_seconds
"""

_QOE = """
INSERT INTO stream_qoe_minutes AS q (stream_id, minute, beacons, latency_sum, latency_count,
    latency_max, stalls, stall_seconds, bitrate_switches, startup_ms_sum, startup_count)
VALUES ($1, date_trunc('minute', now()), 1, coalesce($2::float8, 0), ($2 IS NOT NULL)::int,
    coalesce($2::float8, 0), $3::int, $4::float8, $5::int, coalesce($6::float8, 0),
    ($6 IS NOT NULL)::int)
ON CONFLICT (stream_id, minute) DO UPDATE SET
    beacons = q.beacons + 1,
    latency_sum = q.latency_sum + excluded.latency_sum,
    latency_count = q.latency_count + excluded.latency_count,
    latency_max = GREATEST(q.latency_max, excluded.latency_max),
    stalls = q.stalls + excluded.stalls,
    stall_seconds = q.stall_seconds + excluded.stall_seconds,
    bitrate_switches = q.bitrate_switches + excluded.bitrate_switches,
    startup_ms_sum = q.startup_ms_sum + excluded.startup_ms_sum,
    startup_count = q.startup_count + excluded.startup_count
"""


async def beacon(
    pool: asyncpg.Pool,
    session_id: uuid.UUID,
    stream_id: uuid.UUID,
    *,
    played: float,
    qoe: Qoe,
    final: bool = False,
) -> BeaconResult:
    """Credit a beacon to its session and its stream's minute (one transaction)."""
    async with pool.acquire() as conn, conn.transaction():
        seconds = await conn.fetchval(_BEACON, session_id, stream_id, played, final)
        if seconds is None:
            row = await conn.fetchrow(
                "SELECT left_at IS NOT NULL AS ended, kind, "
                "extract(epoch FROM last_beacon_at + make_interval(secs => $3) - now()) "
                "AS wait FROM stream_viewers WHERE id = $1 AND stream_id = $2",
                session_id,
                stream_id,
                MIN_BEACON_INTERVAL,
            )
            if row is None or row["kind"] != "llhls":
                return BeaconResult("unknown")
            if row["ended"]:
                return BeaconResult("ended")
            return BeaconResult("too_soon", retry_after=max(0.1, float(row["wait"] or 0)))
        await conn.execute(
            _QOE,
            stream_id,
            qoe.latency,
            qoe.stalls,
            qoe.stall_seconds,
            qoe.bitrate_switches,
            qoe.startup_ms,
        )
        return BeaconResult("ok", watch_seconds=float(seconds))


async def whep_ended(db: Db, session_id: uuid.UUID, watched: float) -> None:
    """A WHEP session's end: the server's own count of the seconds it sent media."""
    await db.execute(
        "UPDATE stream_viewers SET left_at = now(), last_seen_at = now(), watch_seconds = $2 "
        "WHERE id = $1 AND left_at IS NULL",
        session_id,
        max(0.0, watched),
    )


async def close_idle(db: Db, idle_after: float = IDLE_AFTER) -> int:
    """LL-HLS sessions not heard from in ``idle_after`` seconds left when last seen."""
    done = await db.execute(
        "UPDATE stream_viewers SET left_at = last_seen_at "
        "WHERE left_at IS NULL AND kind = 'llhls' "
        "AND last_seen_at < now() - make_interval(secs => $1)",
        idle_after,
    )
    return int(done.split()[-1])
