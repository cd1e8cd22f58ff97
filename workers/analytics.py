"""The admin hub's worker: refreshes the materialized views every
``TEEZU_ANALYTICS_REFRESH_INTERVAL`` seconds (and closes viewing sessions gone quiet), inside
the node. Any number of nodes may run it: an advisory lock lets one refresh at a time."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from api.analytics.views import refresh_all

log = logging.getLogger(__name__)


async def run_hub_refresh(pool: asyncpg.Pool, interval: float) -> None:
    """Refresh the hub's views every ``interval`` seconds until cancelled."""
    while True:
        try:
            took = await refresh_all(pool)
            if took is not None:
                log.debug("hub views refreshed", extra={"seconds": took})
        except Exception:
            log.exception("hub view refresh failed")
        await asyncio.sleep(interval)
