"""Group commit for likes: concurrent likes (and unlikes) share one statement and one commit.

Profiled on one hot post (`loadtests/bench_social.py`): a like was a transaction of four round
trips (BEGIN, the like row, a counter slot, COMMIT) and the client and server CPU per statement
is what bounds it on a small machine, not the counter's row locks (16 slots already spread
them) nor the WAL flush (asynchronous commit did not help). Even the like row alone, one
statement per like, stays under the target. So likes travel together: while ``max_inflight``
batches run, new likes queue, and the queue goes out as the next batch — one statement that
inserts the like rows (``ON CONFLICT DO NOTHING``: idempotent) and adds the number actually
inserted per post to one counter slot, in the same statement, so the count stays exact.

A like alone (nothing running) goes out at once: no timer, no added latency. A batch holds a
(post, user) pair once; a repeated pair in the queue waits for the next batch. If a batch
fails as a whole, each of its likes runs alone (`api.comments.store.like`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import deque

import asyncpg
from aiohttp import web

from api.comments import store

log = logging.getLogger(__name__)

# $1 posts, $2 users (one element per like), $3 the counter slot, $4 +1 (like) or -1 (unlike)
_LIKE = """
WITH req AS (SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS r(post_id, user_id)),
done AS (
    INSERT INTO post_likes (post_id, user_id) SELECT post_id, user_id FROM req
    ON CONFLICT DO NOTHING RETURNING post_id, user_id
), counted AS (
    INSERT INTO post_counter_slots (post_id, slot, likes, comments)
    SELECT post_id, $3, count(*), 0 FROM done GROUP BY post_id
    ON CONFLICT (post_id, slot) DO UPDATE SET likes = post_counter_slots.likes + EXCLUDED.likes
)
SELECT post_id, user_id FROM done
"""
_UNLIKE = """
WITH req AS (SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS r(post_id, user_id)),
done AS (
    DELETE FROM post_likes l USING req WHERE l.post_id = req.post_id AND l.user_id = req.user_id
    RETURNING l.post_id, l.user_id
), counted AS (
    INSERT INTO post_counter_slots (post_id, slot, likes, comments)
    SELECT post_id, $3, -count(*), 0 FROM done GROUP BY post_id
    ON CONFLICT (post_id, slot) DO UPDATE SET likes = post_counter_slots.likes + EXCLUDED.likes
)
SELECT post_id, user_id FROM done
"""

Pair = tuple[uuid.UUID, uuid.UUID]
Waiting = tuple[bool, Pair, "asyncio.Future[bool]"]  # (like?, (post, user), its answer)


def take_batch(
    queue: deque[Waiting], like: bool, limit: int, busy: set[Pair] | None = None
) -> list[Waiting]:
    """The next batch of one kind (likes or unlikes) from ``queue``: each pair once, in order,
    none of ``busy`` (in a running batch); the rest stays queued."""
    batch: list[Waiting] = []
    seen: set[Pair] = set(busy or ())
    keep: deque[Waiting] = deque()
    while queue and len(batch) < limit:
        item = queue.popleft()
        if item[0] == like and item[1] not in seen:
            seen.add(item[1])
            batch.append(item)
        else:
            keep.append(item)
    queue.extendleft(reversed(keep))
    return batch


class LikeBatcher:
    """The node's likes: ``await like(post, user)`` → True if it was new."""

    def __init__(self, pool: asyncpg.Pool, *, max_inflight: int = 2, max_batch: int = 500) -> None:
        self.pool = pool
        self.max_inflight = max_inflight
        self.max_batch = max_batch
        self.batches = 0
        self._queue: deque[Waiting] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._busy: set[Pair] = set()  # pairs in running batches: one change at a time each

    async def like(self, post_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return await self._submit(True, post_id, user_id)

    async def unlike(self, post_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        return await self._submit(False, post_id, user_id)

    async def _submit(self, like: bool, post_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((like, (post_id, user_id), future))
        self._dispatch()
        return await asyncio.shield(future)  # a caller that leaves does not cancel the batch

    async def close(self) -> None:
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.max_inflight:
            batch = take_batch(self._queue, self._queue[0][0], self.max_batch, self._busy)
            if not batch:
                return  # the head waits for its pair's running batch
            self._busy.update(pair for _, pair, _ in batch)
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._dispatch()

    async def _run(self, batch: list[Waiting]) -> None:
        try:
            await self._commit(batch)
        finally:
            self._busy.difference_update(pair for _, pair, _ in batch)

    async def _commit(self, batch: list[Waiting]) -> None:
        like = batch[0][0]
        try:
            rows = await self.pool.fetch(
                _LIKE if like else _UNLIKE,
                [p for _, (p, _u), _f in batch],
                [u for _, (_p, u), _f in batch],
                random.randrange(store.SLOTS),
            )
        except asyncpg.PostgresError as exc:
            log.info("like batch of %d failed (%s); each alone", len(batch), exc)
            await asyncio.gather(*(self._alone(item) for item in batch))
            return
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            raise
        self.batches += 1
        changed = {(r["post_id"], r["user_id"]) for r in rows}
        for _, pair, future in batch:
            if not future.done():
                future.set_result(pair in changed)

    async def _alone(self, item: Waiting) -> None:
        like, (post_id, user_id), future = item
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                fn = store.like if like else store.unlike
                result = await fn(conn, post_id, user_id)
        except BaseException as exc:  # noqa: BLE001  # handed to the waiting caller
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)


LIKES: web.AppKey[LikeBatcher] = web.AppKey("likes", LikeBatcher)
