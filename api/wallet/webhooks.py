"""Applying verified payment events to the ledger, each event id exactly once.

The event row (``payment_events``, keyed by provider and event id) is inserted first, in the
same database transaction as the event's effect: a duplicate delivery finds it (a concurrent
one waits for the first to commit, then finds it) and is acknowledged without doing anything.
The effects are guarded again by the purchase's own state (pending -> confirmed -> charged
back), so even two different event ids for one payment cannot credit it twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from api.wallet.providers import EventType, PaymentEvent
from api.wallet.purchases import get
from api.wallet.service import Ledger
from teezu.db import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    duplicate: bool
    outcome: str


async def apply_event(ledger: Ledger, provider: str, event: PaymentEvent) -> Receipt:
    """Apply ``event`` from ``provider`` once; a repeated event id is a duplicate."""
    async with ledger.pool.acquire() as conn, conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO payment_events (provider, event_id, type, purchase_id, outcome, payload) "
            "VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT DO NOTHING RETURNING true",
            provider,
            event.id,
            event.type.value,
            event.purchase_id,
            json.dumps(event.payload),
        )
        if not fresh:
            return Receipt(duplicate=True, outcome="duplicate")
        outcome = await _dispatch(conn, ledger, provider, event)
        await conn.execute(
            "UPDATE payment_events SET outcome = $3 WHERE provider = $1 AND event_id = $2",
            provider,
            event.id,
            outcome,
        )
    log.info(
        "payment event",
        extra={"provider": provider, "event": event.id, "type": event.type, "outcome": outcome},
    )
    return Receipt(duplicate=False, outcome=outcome)


async def _dispatch(conn: Connection, ledger: Ledger, provider: str, event: PaymentEvent) -> str:
    purchase = await get(conn, event.purchase_id)
    if purchase is None or purchase.provider != provider:
        return "ignored: unknown purchase"
    if (event.amount_minor, event.currency) != (purchase.price_minor, purchase.currency):
        # Never credit a payment for another amount than the package's price.
        log.error(
            "payment event amount differs from the purchase",
            extra={"event": event.id, "purchase": str(purchase.id)},
        )
        return "ignored: amount differs from the purchase"
    if purchase.provider_ref is not None and purchase.provider_ref != event.provider_ref:
        return "ignored: payment reference differs from the purchase"
    if event.type is EventType.SUCCEEDED:
        return await ledger.confirm_purchase(conn, purchase.id)
    if event.type is EventType.FAILED:
        return await ledger.decline_purchase(conn, purchase.id)
    return await ledger.charge_back(conn, purchase.id)
