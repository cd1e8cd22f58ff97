"""The ledger's housekeeping, run inside the node (``teezu serve``): expired holds are
released, shows, tickets and pledges a crash left half settled are finished
(`Ledger.sweep_shows`), derived balances are rolled up (see `api.wallet.rollup`), and
idempotency keys older than ``TEEZU_IDEMPOTENCY_TTL_HOURS`` are deleted; every few minutes a
time -> xid checkpoint is written (`api.wallet.xid_clock`).

Any number of nodes may run it: a hold ends exactly once whoever tries (its state UPDATE is
the gate) and roll-ups take an advisory lock.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.wallet.service import Ledger

log = logging.getLogger(__name__)


async def ledger_pass(ledger: Ledger) -> tuple[int, int]:
    """One pass: (holds expired, accounts rolled up)."""
    await ledger.checkpoint()
    expired = await ledger.expire_holds()
    if expired:
        log.info("released %d expired hold(s)", expired)
    swept = await ledger.sweep_shows()
    if swept:
        log.info("settled %d show/ticket/pledge leftover(s)", swept)
    keys = await ledger.expire_keys()
    if keys:
        log.info("deleted %d expired idempotency key(s)", keys)
    return expired, await ledger.roll_up()


async def run_ledger_jobs(ledger: Ledger, interval: float) -> None:
    """Run `ledger_pass` every ``interval`` seconds until cancelled."""
    while True:
        try:
            await ledger_pass(ledger)
        except Exception:
            log.exception("ledger housekeeping pass failed")
        await asyncio.sleep(interval)
