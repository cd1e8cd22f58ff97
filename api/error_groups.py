"""Error tracking: unhandled errors grouped by signature, counted, with their last request ids.

The envelope middleware hands every unhandled exception to `ErrorGroups.record` (and answers
the caller a plain 500). A signature is the exception's type and the ``module:function`` of
each frame it passed through, hashed: line numbers are left out so an edit elsewhere in a file
does not split a group, and the message is left out because it often carries values (ids,
amounts) that would make every occurrence its own group. Groups are kept in memory and written
to ``error_groups`` every few seconds (an upsert that adds the counts), so a burst of errors
costs one statement per group, not one per error; the hub reads them
(``GET /api/v1/admin/hub/errors``).

When ``TEEZU_SENTRY_DSN`` is set, each error is also forwarded through the `ErrorForwarder`
interface; `SentryForwarder` is the implementation (``sentry-sdk``, imported only then).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import asyncpg
from aiohttp import web

from api.keys import POOL

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 5.0  # seconds
KEEP_REQUEST_IDS = 5
MAX_GROUPS = 1_000  # pending in memory between flushes; past it, new signatures are dropped


def signature(exc: BaseException) -> tuple[str, str]:
    """``(signature, location)``: a stable hash of the type and the frames' module:function,
    and the innermost frame. Pure."""
    frames = [
        f"{frame.f_globals.get('__name__', '?')}:{frame.f_code.co_name}"
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    ]
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    digest = hashlib.sha256("\n".join([kind, *frames]).encode()).hexdigest()[:24]
    return digest, frames[-1] if frames else "?"


class ErrorForwarder(Protocol):
    """Somewhere else errors go (an error tracker), besides the local groups."""

    def capture(self, exc: BaseException, request_id: str) -> None: ...


class SentryForwarder:
    """Forwards to Sentry (or anything speaking its protocol) with ``sentry-sdk``."""

    def __init__(self, dsn: str, environment: str = "production") -> None:
        import sentry_sdk  # only with a DSN: the dependency is optional

        self._sdk = sentry_sdk
        # No integrations of its own: this class reports what the envelope caught, once.
        sentry_sdk.init(
            dsn=dsn,
            environment=environment,
            default_integrations=False,
            auto_enabling_integrations=False,
        )

    def capture(self, exc: BaseException, request_id: str) -> None:
        with self._sdk.new_scope() as scope:
            scope.set_tag("request_id", request_id)
            self._sdk.capture_exception(exc)

    def close(self) -> None:
        self._sdk.flush(timeout=2)


@dataclass
class _Group:
    error_type: str
    message: str
    location: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0
    request_ids: list[str] = field(default_factory=list)


class ErrorGroups:
    """This node's unhandled errors since the last flush, by signature."""

    def __init__(self, forwarder: ErrorForwarder | None = None) -> None:
        self.forwarder = forwarder
        self.pending: dict[str, _Group] = {}
        self.dropped = 0

    def record(self, exc: BaseException, request_id: str) -> str:
        """Count ``exc``; returns its signature."""
        sig, location = signature(exc)
        now = datetime.now(UTC)
        group = self.pending.get(sig)
        if group is None:
            if len(self.pending) >= MAX_GROUPS:
                self.dropped += 1
                return sig
            kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
            group = self.pending[sig] = _Group(kind, "", location, now, now)
        group.count += 1
        group.last_seen = now
        group.message = str(exc)[:500]
        group.request_ids = [request_id, *group.request_ids][:KEEP_REQUEST_IDS]
        if self.forwarder is not None:
            try:
                self.forwarder.capture(exc, request_id)
            except Exception:
                log.exception("forwarding an error failed")
        return sig

    async def flush(self, pool: asyncpg.Pool) -> int:
        """Write the pending groups (adding their counts); the number of groups written."""
        pending, self.pending = self.pending, {}
        if not pending:
            return 0
        await pool.executemany(
            "INSERT INTO error_groups (signature, error_type, message, location, first_seen, "
            "last_seen, count, last_request_ids) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[]) "
            "ON CONFLICT (signature) DO UPDATE SET count = error_groups.count + excluded.count, "
            "last_seen = excluded.last_seen, message = excluded.message, "
            "last_request_ids = (excluded.last_request_ids || error_groups.last_request_ids)"
            f"[1:{KEEP_REQUEST_IDS}]",
            [
                (
                    sig,
                    g.error_type,
                    g.message,
                    g.location,
                    g.first_seen,
                    g.last_seen,
                    g.count,
                    g.request_ids,
                )
                for sig, g in pending.items()
            ],
        )
        return len(pending)


ERROR_GROUPS: web.AppKey[ErrorGroups] = web.AppKey("error_groups", ErrorGroups)


def setup(app: web.Application, forwarder: ErrorForwarder | None) -> None:
    """The node's error groups and their writer task."""
    app[ERROR_GROUPS] = groups = ErrorGroups(forwarder)

    async def writer(app: web.Application) -> AsyncIterator[None]:
        async def run() -> None:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL)
                try:
                    await groups.flush(app[POOL])
                except Exception:
                    log.exception("writing error groups failed")

        task = asyncio.get_running_loop().create_task(run(), name="error-groups-writer")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):
            await groups.flush(app[POOL])
        close = getattr(groups.forwarder, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    app.cleanup_ctx.append(writer)
