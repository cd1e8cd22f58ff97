"""Exponential back-off after failed logins, per account and per IP.

The policy (`wait_seconds`) is a pure function; the counters live in PostgreSQL
(``login_throttle``) so every API node sees the same ones. Keys: ``acct:<email>`` (unknown
emails are throttled exactly like real ones, so the throttle does not reveal accounts) and
``ip:<address>``.
"""

from __future__ import annotations

import math
from datetime import datetime

from teezu.db import Db

FORGET_AFTER = 3600  # seconds without a failure after which a counter starts over


def wait_seconds(failures: int, *, free: int, cap: int) -> int:
    """Seconds to wait after ``failures`` consecutive failures: 0 for the first ``free``, then
    1, 2, 4, … up to ``cap``."""
    if failures < free:
        return 0
    return int(min(cap, 2 ** (failures - free)))


def retry_after(
    failures: int, last_failure: datetime, now: datetime, *, free: int, cap: int
) -> int:
    """Seconds left before another attempt is allowed (0: go ahead)."""
    elapsed = (now - last_failure).total_seconds()
    if elapsed >= FORGET_AFTER:
        return 0
    return max(0, math.ceil(wait_seconds(failures, free=free, cap=cap) - elapsed))


async def state(db: Db, key: str) -> tuple[int, datetime, datetime] | None:
    """``(failures, last_failure_at, now)`` of a key, or None if it has none."""
    r = await db.fetchrow(
        "SELECT failures, last_failure_at, now() AS now FROM login_throttle WHERE key = $1", key
    )
    return (r["failures"], r["last_failure_at"], r["now"]) if r else None


async def record_failure(db: Db, key: str) -> int:
    """Count one more failure (a counter idle for an hour starts over); returns the count."""
    return int(
        await db.fetchval(
            "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES ($1, 1, now()) "
            "ON CONFLICT (key) DO UPDATE SET last_failure_at = now(), failures = CASE "
            "WHEN login_throttle.last_failure_at < now() - make_interval(secs => $2) THEN 1 "
            "ELSE login_throttle.failures + 1 END RETURNING failures",
            key,
            float(FORGET_AFTER),
        )
    )


async def clear(db: Db, key: str) -> None:
    await db.execute("DELETE FROM login_throttle WHERE key = $1", key)
