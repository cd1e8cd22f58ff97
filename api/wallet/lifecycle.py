"""The wallet's part of a node's start and stop: the ledger, the payment providers, the room's
money channel, the ledger's housekeeping jobs and the payouts (after the app's own lifecycle:
they need the pool)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from api.keys import POOL, PUBSUB, SETTINGS
from api.wallet.events import MONEY_EVENTS, MoneyEvents
from api.wallet.maturity import MaturityPolicy
from api.wallet.payouts import PAYOUTS, Payouts
from api.wallet.providers import PROVIDERS, PaymentProvider
from api.wallet.sandbox import SandboxProvider
from api.wallet.service import LEDGER, Ledger
from workers.ledger import run_ledger_jobs

log = logging.getLogger(__name__)


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    """After the app's own start-up (the pool exists): the ledger, providers and jobs."""
    settings = app[SETTINGS]
    ledger = Ledger(
        app[POOL],
        tip_min=settings.tip_min,
        tip_max=settings.tip_max,
        show_interval_ms=max(1, round(settings.show_billing_interval_seconds * 1000)),
        node_id=settings.node_id,
        ticket_hold_seconds=settings.ticket_hold_seconds,
        pledge_hold_seconds=settings.pledge_hold_seconds,
        idempotency_ttl_hours=settings.idempotency_ttl_hours,
    )
    app[LEDGER] = ledger
    ended = await ledger.private_shows.end_orphans()
    if ended:
        log.warning("ended %d private show(s) billed by this node before it restarted", ended)
    providers: dict[str, PaymentProvider] = {}
    if "sandbox" in settings.payment_providers:
        providers["sandbox"] = SandboxProvider(
            await asyncio.to_thread(settings.payment_webhook_key_bytes),  # a key file
            f"{settings.base_url}/api/v1/payments/webhooks/sandbox",
        )
    app[PROVIDERS] = providers
    events = MoneyEvents(app[POOL], app[PUBSUB])
    app[MONEY_EVENTS] = events
    jobs = asyncio.get_running_loop().create_task(
        run_ledger_jobs(ledger, settings.ledger_job_interval), name="ledger-jobs"
    )
    try:
        yield
    finally:
        await ledger.private_shows.close()
        jobs.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await jobs
        await ledger.close()
        await events.close()
        for provider in providers.values():
            await provider.close()


async def payouts_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """After `lifecycle`: payouts use its ledger."""
    settings = app[SETTINGS]
    ledger = app[LEDGER]
    app[PAYOUTS] = Payouts(
        ledger.pool,
        ledger.book,
        policy=MaturityPolicy(
            days_hold=settings.earnings_maturity_days,
            new_creator_days_hold=settings.new_creator_maturity_days,
            new_creator_age=settings.new_creator_days,
        ),
        minimum=settings.payout_min,
        reserve_bps=settings.payout_reserve_bps,
    )
    yield
