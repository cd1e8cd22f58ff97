"""The hub's materialized views: their refresh (CONCURRENTLY, in dependency order, one node at a
time) and how fresh each is."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import asyncpg

from api.analytics import viewing
from teezu.db import Connection

log = logging.getLogger(__name__)

# Refresh order: hub_activity_daily feeds growth and retention.
VIEWS = (
    "hub_activity_daily",
    "hub_growth_daily",
    "hub_retention_weekly",
    "hub_revenue_daily",
    "hub_creators",
    "hub_streams",
    "hub_mood_daily",
    "hub_community_daily",
    "hub_ai_daily",
)
REFRESH_LOCK_ID = 0x7465657A7518  # pg_advisory_lock key: "teezu" + issue 18


async def refresh_view(conn: Connection, view: str) -> float:
    """Refresh one view without blocking its readers; returns the seconds it took."""
    if view not in VIEWS:  # names go into SQL: only ours
        raise ValueError(f"not a hub view: {view}")
    started = time.perf_counter()
    await conn.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}")
    seconds = time.perf_counter() - started
    await conn.execute(
        "INSERT INTO hub_refreshes (view, refreshed_at, seconds) VALUES ($1, now(), $2) "
        "ON CONFLICT (view) DO UPDATE SET refreshed_at = now(), seconds = excluded.seconds",
        view,
        seconds,
    )
    return seconds


async def refresh_all(pool: asyncpg.Pool, *, wait: bool = False) -> dict[str, float] | None:
    """One pass over every view: seconds per view. None when another node is refreshing them
    now, unless ``wait`` (then this pass follows that one)."""
    async with pool.acquire() as conn:
        if wait:
            await conn.execute("SELECT pg_advisory_lock($1)", REFRESH_LOCK_ID)
        elif not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REFRESH_LOCK_ID):
            return None
        try:
            closed = await viewing.close_idle(conn)
            if closed:
                log.info("closed %d idle viewing session(s)", closed)
            return {view: await refresh_view(conn, view) for view in VIEWS}
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", REFRESH_LOCK_ID)


async def freshness(pool: asyncpg.Pool, *views: str) -> datetime | None:
    """When the oldest of ``views`` was last refreshed (None: never by the worker)."""
    fresh: datetime | None = await pool.fetchval(
        "SELECT CASE WHEN count(*) = cardinality($1::text[]) THEN min(refreshed_at) END "
        "FROM hub_refreshes WHERE view = ANY($1::text[])",
        list(views),
    )
    return fresh
