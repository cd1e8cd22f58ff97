"""Deletes recorded broadcasts (VODs) whose retention has run out, storage first, then the row;
and, each pass, expired stories (`workers.stories`).

Runs as a background task of the node (``teezu serve``); any number of nodes may run it: a
VOD deleted twice is harmless, and the row is marked only after its objects are gone.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg

from api.streams import broadcasts
from teezu.storage import Storage
from workers.stories import expire_stories

log = logging.getLogger(__name__)


async def purge_expired(pool: asyncpg.Pool, storage: Storage) -> int:
    """Delete every expired VOD now; returns how many were deleted."""
    done = 0
    for vod in await broadcasts.expired_vods(pool):
        await storage.delete_prefix(f"{vod.stream_id}/{vod.run}")
        await broadcasts.mark_purged(pool, vod.stream_id, vod.run)
        log.info("vod expired and deleted", extra={"stream_id": str(vod.stream_id), "run": vod.run})
        done += 1
    return done


async def run_retention(pool: asyncpg.Pool, storage: Storage, interval: float) -> None:
    """Purge expired VODs and stories every ``interval`` seconds until cancelled."""
    while True:
        try:
            await purge_expired(pool, storage)
        except Exception:
            log.exception("vod retention pass failed")
        try:
            await expire_stories(pool, storage, datetime.now(UTC))
        except Exception:
            log.exception("story expiry pass failed")
        await asyncio.sleep(interval)
