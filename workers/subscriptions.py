"""Subscription renewals, run inside the node (``teezu serve``) and by
``teezu subscriptions renew`` (one pass).

Any number of nodes may run it at once: each due subscription is claimed with
``FOR UPDATE SKIP LOCKED`` and each period has one charge row (see
`api.subscriptions.billing`), so a period is charged exactly once.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from api.subscriptions.billing import RenewalReport, renew_due
from api.subscriptions.model import Billing
from api.wallet.accounts import AccountBook

log = logging.getLogger(__name__)


async def renewal_pass(pool: asyncpg.Pool, book: AccountBook, billing: Billing) -> RenewalReport:
    """One pass over every due subscription."""
    return await renew_due(pool, book, billing)


async def run_renewals(
    pool: asyncpg.Pool, book: AccountBook, billing: Billing, interval: float
) -> None:
    """Run `renewal_pass` every ``interval`` seconds until cancelled."""
    while True:
        try:
            await renewal_pass(pool, book, billing)
        except Exception:
            log.exception("subscription renewal pass failed")
        await asyncio.sleep(interval)
