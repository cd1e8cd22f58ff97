"""AI activity facts for the hub (`hub_ai_daily`): every request to an operation tagged ``ai``
is noted in memory by a middleware and written in batches (one ``COPY`` every few seconds), so
an AI request costs no extra round trip. The buffer is bounded: past `MAX_BUFFERED` rows the
oldest are dropped and counted (``dropped``), never the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
from aiohttp import web

from api.envelope import Handler
from api.keys import POOL
from api.routing import route_of

log = logging.getLogger(__name__)

AI_TAG = "ai"
REFUSALS = frozenset({401, 403, 429, 451})
MAX_BUFFERED = 10_000
FLUSH_INTERVAL = 5.0  # seconds

Row = tuple[datetime, str, int, float, bool, bool]


class AiActivity:
    """The node's buffer of AI requests not yet written."""

    def __init__(self) -> None:
        self.rows: deque[Row] = deque(maxlen=MAX_BUFFERED)
        self.dropped = 0

    def note(self, feature: str, status: int, seconds: float) -> None:
        if len(self.rows) == MAX_BUFFERED:
            self.dropped += 1
        at = datetime.now(UTC)
        self.rows.append((at, feature, status, seconds * 1000.0, status in REFUSALS, False))

    async def flush(self, pool: asyncpg.Pool) -> int:
        """Write what is buffered; the number of rows written."""
        rows = list(self.rows)
        if not rows:
            return 0
        self.rows.clear()
        try:
            await pool.copy_records_to_table(
                "ai_requests",
                records=rows,
                columns=["at", "feature", "status", "latency_ms", "refused", "escalated"],
            )
        except Exception:
            self.rows.extendleft(reversed(rows))  # tried again at the next flush
            raise
        return len(rows)


AI_ACTIVITY: web.AppKey[AiActivity] = web.AppKey("ai_activity", AiActivity)


@web.middleware
async def ai_activity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = route_of(request)
    if route is None or AI_TAG not in route.tags:
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[AI_ACTIVITY].note(route.operation_id, status, time.perf_counter() - started)


def setup(app: web.Application) -> None:
    """The buffer and its writer task (the middleware is added with the app's others)."""
    app[AI_ACTIVITY] = AiActivity()

    async def writer(app: web.Application) -> AsyncIterator[None]:
        activity = app[AI_ACTIVITY]

        async def run() -> None:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL)
                try:
                    await activity.flush(app[POOL])
                except Exception:
                    log.exception("writing AI activity failed")

        task = asyncio.get_running_loop().create_task(run(), name="ai-activity-writer")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await activity.flush(app[POOL])

    app.cleanup_ctx.append(writer)
