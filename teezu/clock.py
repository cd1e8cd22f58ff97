"""Whole-millisecond time for code that must stay free of floats (the ledger's billing)."""

from __future__ import annotations

import asyncio
import time


def monotonic_ms() -> int:
    """A monotonic clock in whole milliseconds."""
    return time.monotonic_ns() // 1_000_000


async def sleep_ms(ms: int) -> None:
    """Sleep ``ms`` milliseconds (none if it is not positive)."""
    await asyncio.sleep(max(0, ms) / 1000)
