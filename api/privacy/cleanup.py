"""Erasure outside PostgreSQL: storage objects and Redis entries (run after the commit).

Redis is scanned under the app's own prefix (``teezu:``): keys whose name contains a needle
are deleted; members of sets, sorted sets, hashes and lists that contain one are removed
(chat presence entries carry the user's id and handle). Every step is idempotent, so an
interrupted clean-up is simply run again (`retry_pending` at start-up).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import asyncpg

from api.privacy import store
from api.privacy.registry import Cleanup
from teezu.documents import Documents
from teezu.storage import Storage

log = logging.getLogger(__name__)
REDIS_PREFIX = "teezu:"


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


async def scrub_redis(client: Any, needles: list[str], *, prefix: str = REDIS_PREFIX) -> int:
    """Remove every Redis key or member under ``prefix`` containing a needle; returns how many."""
    if not needles:
        return 0
    removed = 0

    def hit(value: bytes | str) -> bool:
        text = _text(value)
        return any(n in text for n in needles)

    async for raw in client.scan_iter(match=f"{prefix}*", count=500):
        key = _text(raw)
        if hit(key):
            removed += await client.delete(raw)
            continue
        kind = _text(await client.type(raw))
        if kind == "zset":
            members = [m async for m, _ in client.zscan_iter(raw) if hit(m)]
            if members:
                removed += await client.zrem(raw, *members)
        elif kind == "set":
            members = [m async for m in client.sscan_iter(raw) if hit(m)]
            if members:
                removed += await client.srem(raw, *members)
        elif kind == "hash":
            fields = [f async for f, v in client.hscan_iter(raw) if hit(f) or hit(v)]
            if fields:
                removed += await client.hdel(raw, *fields)
        elif kind == "list":
            for item in set(await client.lrange(raw, 0, -1)):
                if hit(item):
                    removed += await client.lrem(raw, 0, item)
        elif kind == "string":
            value = await client.get(raw)
            if value is not None and hit(value):
                removed += await client.delete(raw)
    return removed


async def run(
    storage: Storage, redis_url: str, cleanup: Cleanup, documents: Documents | None = None
) -> None:
    """Do ``cleanup`` (raises on a storage, Redis or MongoDB failure: the caller retries
    later)."""
    if cleanup.document_owners and documents is not None:
        from api.ai.store import erase_user

        for owner in cleanup.document_owners:
            await erase_user(documents, uuid.UUID(owner))
    for prefix in cleanup.storage_prefixes:
        await storage.delete_prefix(prefix)
    for key in cleanup.storage_keys:
        await storage.delete(key)
    if redis_url and cleanup.redis_needles:
        import redis.asyncio as redis

        client = redis.from_url(redis_url)
        try:
            await scrub_redis(client, cleanup.redis_needles)
        finally:
            await client.aclose()


async def run_and_mark(
    pool: asyncpg.Pool,
    storage: Storage,
    redis_url: str,
    user_id: uuid.UUID,
    cleanup: Cleanup,
    documents: Documents | None = None,
) -> bool:
    """Run one erasure's clean-up and record it; False (logged) if it must be retried."""
    try:
        await run(storage, redis_url, cleanup, documents)
    except Exception:
        log.exception(
            "erasure clean-up failed; retried at the next start", extra={"user": str(user_id)}
        )
        return False
    await store.mark_cleaned(pool, user_id)
    return True


async def retry_pending(
    pool: asyncpg.Pool, storage: Storage, redis_url: str, documents: Documents | None = None
) -> None:
    for user_id, cleanup in await store.pending_cleanups(pool):
        await run_and_mark(pool, storage, redis_url, user_id, cleanup, documents)
