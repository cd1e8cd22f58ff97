"""Expires stories: 24 h after upload a story's media leaves storage and its row the database,
unless its creator pinned it as a highlight. Runs in the node's retention loop; ``now`` is a
parameter so tests drive the clock. Any number of nodes may run it: deleting twice is
harmless, and a highlight pinned between the listing and the deletion keeps the story (the row
is deleted only if still unpinned, before the media; media of a story that turned into a
highlight is never touched).
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg

from api.posts import stories
from teezu.storage import Storage

log = logging.getLogger(__name__)


async def expire_stories(pool: asyncpg.Pool, storage: Storage, now: datetime) -> int:
    """Delete every story expired at ``now``; returns how many were deleted."""
    done = 0
    while True:
        batch = await stories.expired(pool, now, 100)
        for post_id in batch:
            if await stories.delete_expired(pool, post_id, now):
                await storage.delete_prefix(f"posts/{post_id}")
                log.info("story expired and deleted", extra={"post_id": str(post_id)})
                done += 1
        if len(batch) < 100:
            return done
