"""The memberships' part of a node's start and stop: the renewal job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web

from api.keys import POOL, SETTINGS
from api.memberships.billing import renew_due
from api.subscriptions.billing import billing_from
from api.subscriptions.model import Billing
from api.wallet.accounts import AccountBook
from api.wallet.service import LEDGER

log = logging.getLogger(__name__)


async def run_renewals(
    pool: asyncpg.Pool, book: AccountBook, billing: Billing, interval: float
) -> None:
    """One renewal pass every ``interval`` seconds until cancelled."""
    while True:
        try:
            await renew_due(pool, book, billing)
        except Exception:
            log.exception("membership renewal pass failed")
        await asyncio.sleep(interval)


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Renewals on the subscriptions' calendar and interval (``TEEZU_SUBSCRIPTION_*``)."""
    settings = app[SETTINGS]
    job = asyncio.get_running_loop().create_task(
        run_renewals(
            app[POOL],
            app[LEDGER].book,
            billing_from(settings),
            settings.subscription_job_interval,
        ),
        name="membership-renewals",
    )
    try:
        yield
    finally:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
