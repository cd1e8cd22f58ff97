"""The subscriptions' part of a node's start and stop: the renewal job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from api.keys import POOL, SETTINGS
from api.subscriptions import billing
from api.wallet.service import LEDGER
from workers.subscriptions import run_renewals


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The renewal job (after the wallet's lifecycle: it shares the ledger's account book)."""
    settings = app[SETTINGS]
    job = asyncio.get_running_loop().create_task(
        run_renewals(
            app[POOL],
            app[LEDGER].book,
            billing.billing_from(settings),
            settings.subscription_job_interval,
        ),
        name="subscription-renewals",
    )
    try:
        yield
    finally:
        job.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await job
