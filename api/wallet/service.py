"""`Ledger`: the token economy's operations, as the HTTP routes, the CLI and workers call them.

Every operation that moves tokens goes through here. The pieces live in their own modules
(tips, holds, purchases, chargebacks, check, rollup); this class holds the pool and the
account caches they share, and wraps the multi-statement ones in a database transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from aiohttp import web

from api.wallet import (
    chargebacks,
    holds,
    idempotency,
    killswitch,
    purchases,
    rollup,
    store,
    tips,
    xid_clock,
)
from api.wallet.accounts import AccountBook
from api.wallet.check import BooksReport, check_books
from api.wallet.errors import AmountOutOfRange
from api.wallet.killswitch import BillingStop
from api.wallet.model import AccountKind, HoldPurpose, IdempotencyKey, Outcome
from api.wallet.pledges import Pledges
from api.wallet.private_shows import PrivateShows
from api.wallet.purchases import Purchase, TokenPackage
from api.wallet.ticket_shows import TicketShows
from api.wallet.tip_batches import TipBatcher
from api.wallet.tips import TipRequest
from teezu.db import Connection


@dataclass(frozen=True)
class WalletView:
    """What a viewer sees of their money."""

    balance: int  # spendable
    held: int  # reserved by open holds
    debt: int  # owed after a chargeback (settled by the next purchases)

    def public(self) -> dict[str, int]:
        return {"balance": self.balance, "held": self.held, "debt": self.debt}


class Ledger:
    """The token ledger over one database pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        tip_min: int = 1,
        tip_max: int = 100_000,
        show_interval_ms: int = 60_000,
        node_id: str = "",
        ticket_hold_seconds: int = 86_400,
        pledge_hold_seconds: int = 86_400,
        idempotency_ttl_hours: int = 24,
        group_commit: bool = True,
        group_commit_inflight: int = 4,
    ) -> None:
        self.pool = pool
        self.book = AccountBook()
        self.tip_min = tip_min
        self.tip_max = tip_max
        # Paid features built on holds; each keeps its own rows and calls back in here.
        self.private_shows = PrivateShows(self, interval_ms=show_interval_ms, node_id=node_id)
        self.ticket_shows = TicketShows(self, hold_seconds=ticket_hold_seconds)
        self.pledges = Pledges(self, hold_seconds=pledge_hold_seconds)
        self.idempotency_ttl_hours = idempotency_ttl_hours
        self.tips_committed = 0  # tips this node committed (not replays), for /metrics
        self.tip_tokens_committed = 0
        self.tip_failures = 0  # tips that raised (a database failure, not a refusal)
        # Concurrent tips share database commits (api.wallet.tip_batches); off: one each.
        self.batcher = (
            TipBatcher(pool, max_inflight=group_commit_inflight) if group_commit else None
        )

    def _check_tip_amount(self, amount: int) -> None:
        if type(amount) is not int or not self.tip_min <= amount <= self.tip_max:
            raise AmountOutOfRange(
                f"a tip is {self.tip_min} to {self.tip_max} tokens",
                meta={"min": self.tip_min, "max": self.tip_max},
            )

    async def close(self) -> None:
        """Finish the tips being committed (call before closing the pool)."""
        if self.batcher is not None:
            await self.batcher.close()

    # ---- spending -------------------------------------------------------------------
    async def tip(
        self, key: IdempotencyKey, request: TipRequest, *, request_id: str | None = None
    ) -> Outcome:
        """Tip a live stream's creator (see `api.wallet.tips.tip`)."""
        self._check_tip_amount(request.amount)
        prepared = await tips.prepare(self.pool, self.book, key, request, request_id=request_id)
        try:
            if self.batcher is not None:
                outcome = await self.batcher.submit(prepared)
            else:
                outcome = await tips.execute(self.pool, prepared)
        except Exception:
            self.tip_failures += 1
            raise
        if outcome.ok and not outcome.replayed:
            self.tips_committed += 1
            self.tip_tokens_committed += request.amount
        return outcome

    async def tip_profile(
        self,
        key: IdempotencyKey,
        creator: uuid.UUID,
        amount: int,
        message: str | None = None,
        *,
        request_id: str | None = None,
    ) -> Outcome:
        """Tip a creator's profile, no stream needed (see `api.wallet.tips.tip_profile`)."""
        self._check_tip_amount(amount)
        return await tips.tip_profile(
            self.pool, self.book, key, creator, amount, message, request_id=request_id
        )

    async def reserve(
        self,
        key: IdempotencyKey,
        *,
        amount: int,
        purpose: HoldPurpose,
        ttl_seconds: int,
        payee_id: uuid.UUID | None = None,
        stream_id: uuid.UUID | None = None,
        ref_id: uuid.UUID | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        return await holds.reserve(
            self.pool,
            self.book,
            key,
            amount=amount,
            purpose=purpose,
            ttl_seconds=ttl_seconds,
            payee_id=payee_id,
            stream_id=stream_id,
            ref_id=ref_id,
            request_id=request_id,
        )

    async def extend_hold(
        self, key: IdempotencyKey, hold_id: uuid.UUID, *, amount: int, ttl_seconds: int
    ) -> Outcome:
        return await holds.extend(
            self.pool, self.book, key, hold_id, amount=amount, ttl_seconds=ttl_seconds
        )

    async def capture(self, hold_id: uuid.UUID, amount: int) -> Outcome:
        return await holds.capture(self.pool, self.book, hold_id, amount)

    async def release(self, hold_id: uuid.UUID) -> Outcome:
        return await holds.release(self.pool, self.book, hold_id)

    async def expire_holds(self) -> int:
        return await holds.expire_due(self.pool, self.book)

    # ---- the kill switch --------------------------------------------------------------
    async def stop_billing(self, stream_id: uuid.UUID, reason: str) -> BillingStop:
        """Stop every per-minute billing of the stream and settle its pending holds, exactly
        once (the rule: `api.wallet.killswitch`). The freeze path calls this."""
        return await killswitch.stop_billing(self, stream_id, reason)

    async def stream_ended(self, stream_id: uuid.UUID) -> BillingStop:
        """A broadcast ended: as `stop_billing`, but an announced ticket show stays on sale."""
        return await killswitch.stop_billing(
            self, stream_id, "broadcast ended", keep_announced=True
        )

    async def sweep_shows(self) -> int:
        """The ledger worker's pass over shows, tickets and pledges a crash left half done."""
        return (
            await self.private_shows.sweep()
            + await self.ticket_shows.sweep()
            + await self.pledges.sweep()
        )

    # ---- purchases ------------------------------------------------------------------
    async def packages(self) -> list[TokenPackage]:
        return await purchases.packages(self.pool)

    async def create_purchase(
        self,
        key: IdempotencyKey,
        package_id: str,
        provider: str,
        *,
        payment_method: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Record a pending purchase (idempotent per key); see `api.wallet.purchases.create`."""
        return await purchases.create(
            self.pool,
            key,
            package_id=package_id,
            provider=provider,
            payment_method=payment_method,
            request_id=request_id,
        )

    async def purchase(self, purchase_id: uuid.UUID) -> Purchase | None:
        return await purchases.get(self.pool, purchase_id)

    async def confirm_purchase(self, conn: Connection, purchase_id: uuid.UUID) -> str:
        """Credit a purchase; ``conn`` is in the caller's transaction (with the event row)."""
        return await purchases.confirm(conn, self.book, purchase_id)

    async def decline_purchase(self, conn: Connection, purchase_id: uuid.UUID) -> str:
        return await purchases.decline(conn, purchase_id)

    async def charge_back(self, conn: Connection, purchase_id: uuid.UUID) -> str:
        return await chargebacks.chargeback(conn, self.book, purchase_id)

    async def refund(self, purchase_id: uuid.UUID) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            return await purchases.refund(conn, self.book, purchase_id)

    # ---- reading --------------------------------------------------------------------
    async def wallet(self, user_id: uuid.UUID) -> WalletView:
        wallet = await self.book.find(self.pool, AccountKind.WALLET, user_id)
        receivable = await self.book.find(self.pool, AccountKind.RECEIVABLE, user_id)
        held = await self.pool.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM ledger_holds "
            "WHERE owner_id = $1 AND state = 'held'",
            user_id,
        )
        return WalletView(
            balance=await store.balance(self.pool, wallet) if wallet else 0,
            held=int(held),
            debt=-(await store.balance(self.pool, receivable)) if receivable else 0,
        )

    async def earnings(self, user_id: uuid.UUID) -> int:
        account = await self.book.find(self.pool, AccountKind.EARNINGS, user_id)
        return await store.balance(self.pool, account) if account else 0

    async def history(
        self, user_id: uuid.UUID, *, limit: int, before: tuple[int, int] | None = None
    ) -> list[store.HistoryLine]:
        wallet = await self.book.find(self.pool, AccountKind.WALLET, user_id)
        if wallet is None:
            return []
        return await store.history(self.pool, wallet, limit=limit, before=before)

    # ---- books ----------------------------------------------------------------------
    async def check(self) -> BooksReport:
        return await check_books(self.pool)

    async def roll_up(self) -> int:
        return await rollup.roll_up(self.pool)

    async def checkpoint(self) -> bool:
        """Record a time -> xid checkpoint (`api.wallet.xid_clock`) if the last is old enough."""
        return await xid_clock.checkpoint(self.pool)

    async def expire_keys(self, *, now: datetime | None = None) -> int:
        """Delete idempotency keys older than the TTL (`api.wallet.idempotency.expire`)."""
        return await idempotency.expire(self.pool, ttl_hours=self.idempotency_ttl_hours, now=now)


# The node's ledger (made at start-up by `api.wallet.lifecycle`).
LEDGER: web.AppKey[Ledger] = web.AppKey("ledger", Ledger)
