"""Payouts: a creator cashes out matured earnings; an admin approves or rejects, once.

* **Request** (`Payouts.request`, idempotent per key): in one database transaction, under the
  earnings account's advisory lock (`store.lock_account`, shared with chargebacks), read the
  withdrawable amount (`earnings_view`: balance less immature earnings, see
  `api.wallet.maturity`), refuse more than that (``INSUFFICIENT_MATURED_EARNINGS``, stored
  with the key like every refusal), post ``payout_reserve`` (earnings -> ``payouts_pending``)
  and record the ``payouts`` row. Two concurrent requests of one creator take turns on the
  lock, and the second reads the balance after the first's debit, so together they never
  take more than is available. Tips only add to earnings and never take the lock: a balance
  read under it can only be too low, never too high.
* **Approve**: ``payout_capture`` moves the amount out of ``payouts_pending``: the reserve
  share ``floor(amount x payout_reserve_bps / 10000)`` into ``chargeback_reserve`` (which
  funds what creators' earnings cannot cover in a later chargeback) and the rest into
  ``payouts_paid``: those tokens have left the system, the creator is paid outside it.
* **Reject**: ``payout_release`` returns the whole amount to the creator's earnings.

A payout is decided exactly once: the ledger transaction is posted and then the row's state is
changed by one conditional ``UPDATE … WHERE state = 'pending'`` in the same database
transaction; a concurrent decision waits on that row, matches nothing, and rolls its own
posting back. Taking tokens out of ``payouts_pending`` needs no balance check: each payout's
amount was put there by its own request and leaves it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from api.wallet import idempotency, store, xid_clock
from api.wallet.accounts import AccountBook
from api.wallet.errors import (
    InsufficientMaturedEarnings,
    PayoutBelowMinimum,
    PayoutNotFound,
    PayoutNotPending,
)
from api.wallet.idempotency import run_idempotent
from api.wallet.maturity import MaturityPolicy, available
from api.wallet.model import (
    EARNING_KINDS,
    Account,
    AccountKind,
    IdempotencyKey,
    Outcome,
    Posting,
    TxKind,
)
from teezu.db import Connection, Db

REQUEST = "payout_request"
STATES = ("pending", "approved", "rejected")
_COLUMNS = (
    "id, creator_id, amount, state, reserve_tx, settle_tx, withheld, decided_by, decided_at, "
    "note, created_at"
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EarningsView:
    """A creator's earnings as a payout sees them (all integer tokens)."""

    balance: int  # the earnings account's balance (matured and immature)
    immature: int  # credits still inside their hold period
    available: int  # withdrawable now: balance - immature, never below 0
    pending: int  # reserved by payouts awaiting a decision
    paid_out: int  # approved payouts (withheld reserve share included)
    hold_days: int  # the hold period that applies to this creator now

    def public(self) -> dict[str, int]:
        return {
            "balance": self.balance,
            "immature": self.immature,
            "available": self.available,
            "pending": self.pending,
            "paidOut": self.paid_out,
            "holdDays": self.hold_days,
        }


@dataclass(frozen=True)
class Payout:
    id: uuid.UUID
    creator_id: uuid.UUID
    amount: int
    state: str
    reserve_tx: int
    settle_tx: int | None
    withheld: int | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime

    @property
    def paid(self) -> int | None:
        """Tokens paid to the creator (approved payouts only)."""
        return None if self.withheld is None else self.amount - self.withheld

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "creatorId": str(self.creator_id),
            "amount": self.amount,
            "state": self.state,
            "reserveTx": self.reserve_tx,
            "settleTx": self.settle_tx,
            "withheld": self.withheld,
            "paid": self.paid,
            "decidedBy": str(self.decided_by) if self.decided_by else None,
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
            "createdAt": self.created_at.isoformat(),
        }


def _payout(row: Any) -> Payout:
    return Payout(**dict(row))


async def earnings_view(
    db: Db, account: Account | None, policy: MaturityPolicy, now: datetime
) -> EarningsView:
    """Read a creator's earnings (inside the caller's transaction, under the account lock when
    the result is used to take tokens out)."""
    if account is None:
        return EarningsView(0, 0, 0, 0, 0, policy.new_creator_days_hold)
    created = await db.fetchval("SELECT created_at FROM users WHERE id = $1", account.owner_id)
    cutoff = policy.cutoff(created, now)
    balance = await store.balance(db, account)
    # Only entries from the checkpoint before the cutoff on can be immature (xid_clock).
    floor = await xid_clock.xid_floor(db, cutoff)
    immature = int(
        await db.fetchval(
            "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e "
            "JOIN ledger_transactions t ON t.id = e.tx_id "
            "WHERE e.account_id = $1 AND e.xid >= $4::bigint::text::xid8 "
            "AND e.amount > 0 AND t.kind = ANY($2::text[]) AND t.created_at > $3",
            account.id,
            sorted(EARNING_KINDS),
            cutoff,
            floor,
        )
    )
    totals = await db.fetchrow(
        "SELECT coalesce(sum(amount) FILTER (WHERE state = 'pending'), 0) AS pending, "
        "coalesce(sum(amount) FILTER (WHERE state = 'approved'), 0) AS paid "
        "FROM payouts WHERE creator_id = $1",
        account.owner_id,
    )
    assert totals is not None  # the query always returns a row
    return EarningsView(
        balance=balance,
        immature=immature,
        available=available(balance, immature),
        pending=int(totals["pending"]),
        paid_out=int(totals["paid"]),
        hold_days=policy.hold_days(created, now),
    )


class Payouts:
    """Payout requests and decisions over the ledger's pool and account book.

    ``clock`` gives "now" for maturity (tests move it forward instead of touching ledger rows,
    which are append-only).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        book: AccountBook,
        *,
        policy: MaturityPolicy | None = None,
        minimum: int = 1000,
        reserve_bps: int = 200,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.pool = pool
        self.book = book
        self.policy = policy or MaturityPolicy()
        self.minimum = minimum
        self.reserve_bps = reserve_bps
        self.clock = clock

    def withheld(self, amount: int) -> int:
        """The chargeback-reserve share of an approved payout (rounded down: creators' favour)."""
        return (amount * self.reserve_bps) // 10_000

    async def earnings(self, user_id: uuid.UUID) -> EarningsView:
        account = await self.book.find(self.pool, AccountKind.EARNINGS, user_id)
        return await earnings_view(self.pool, account, self.policy, self.clock())

    async def request(
        self, key: IdempotencyKey, amount: int, *, request_id: str | None = None
    ) -> Outcome:
        """Reserve ``amount`` tokens of ``key.owner_id``'s matured earnings for a payout.

        Success data: ``payout`` and the ``available`` amount left; or the stored refusal
        ``INSUFFICIENT_MATURED_EARNINGS`` (meta: amount, available, immature).
        """
        if type(amount) is not int or amount < self.minimum:
            raise PayoutBelowMinimum(
                f"a payout is at least {self.minimum} tokens",
                meta={"min": self.minimum, "amount": amount},
            )
        owner = key.owner_id
        now = self.clock()

        async def body(conn: Connection) -> dict[str, Any]:
            earnings = await self.book.of(conn, AccountKind.EARNINGS, owner)
            await store.lock_account(conn, earnings)
            view = await earnings_view(conn, earnings, self.policy, now)
            if amount > view.available:
                raise InsufficientMaturedEarnings(
                    "not enough matured earnings for this payout",
                    meta={
                        "amount": amount,
                        "available": view.available,
                        "immature": view.immature,
                        "holdDays": view.hold_days,
                    },
                )
            pending = await self.book.system(conn, AccountKind.PAYOUTS_PENDING)
            payout_id = uuid.uuid4()
            tx_id = await store.post(
                conn,
                TxKind.PAYOUT_RESERVE,
                [Posting(earnings, -amount), Posting(pending, amount)],
                initiator_id=owner,
                memo={"payoutId": str(payout_id)},
            )
            row = await conn.fetchrow(
                f"INSERT INTO payouts (id, creator_id, amount, reserve_tx) "
                f"VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}",
                payout_id,
                owner,
                amount,
                tx_id,
            )
            return {"payout": _payout(row).public(), "available": view.available - amount}

        fingerprint = idempotency.request_hash(REQUEST, {"amount": amount})
        return await run_idempotent(
            self.pool, key, REQUEST, fingerprint, body, request_id=request_id
        )

    async def get(self, payout_id: uuid.UUID) -> Payout | None:
        row = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM payouts WHERE id = $1", payout_id)
        return _payout(row) if row else None

    async def list(
        self,
        *,
        state: str | None,
        creator_id: uuid.UUID | None,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        newest_first: bool,
    ) -> list[Payout]:
        """Payouts by (created_at, id): oldest first for the approval queue, newest first for a
        creator's own list; ``after`` is the last row of the previous page."""
        op, order = ("<", "DESC") if newest_first else (">", "ASC")
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM payouts "
            "WHERE ($1::text IS NULL OR state = $1) AND ($2::uuid IS NULL OR creator_id = $2) "
            f"AND ($3::timestamptz IS NULL OR (created_at, id) {op} ($3, $4::uuid)) "
            f"ORDER BY created_at {order}, id {order} LIMIT $5",
            state,
            creator_id,
            after[0] if after else None,
            after[1] if after else None,
            limit,
        )
        return [_payout(r) for r in rows]

    async def approve(
        self, payout_id: uuid.UUID, admin_id: uuid.UUID, note: str | None = None
    ) -> tuple[Payout, bool]:
        """Pay the payout out (see the module docstring); returns (payout, already approved)."""
        return await self._decide(payout_id, "approved", admin_id, note)

    async def reject(
        self, payout_id: uuid.UUID, admin_id: uuid.UUID, note: str | None = None
    ) -> tuple[Payout, bool]:
        """Return the payout's tokens to the creator's earnings; (payout, already rejected)."""
        return await self._decide(payout_id, "rejected", admin_id, note)

    async def _decide(
        self, payout_id: uuid.UUID, to: str, admin_id: uuid.UUID, note: str | None
    ) -> tuple[Payout, bool]:
        found = await self.get(payout_id)
        if found is None:
            raise PayoutNotFound("no such payout", meta={"id": str(payout_id)})
        if found.state != "pending":
            return self._already(found, to)
        pending = await self.book.system(self.pool, AccountKind.PAYOUTS_PENDING)
        amount = found.amount
        withheld: int | None = None
        if to == "approved":
            withheld = self.withheld(amount)
            postings = [
                Posting(pending, -amount),
                Posting(
                    await self.book.system(self.pool, AccountKind.PAYOUTS_PAID), amount - withheld
                ),
                Posting(
                    await self.book.system(self.pool, AccountKind.CHARGEBACK_RESERVE), withheld
                ),
            ]
            kind = TxKind.PAYOUT_CAPTURE
        else:
            earnings = await self.book.of(self.pool, AccountKind.EARNINGS, found.creator_id)
            postings = [Posting(pending, -amount), Posting(earnings, amount)]
            kind = TxKind.PAYOUT_RELEASE
        memo = {"payoutId": str(payout_id), "withheld": withheld}
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                tx_id = await store.post(conn, kind, postings, initiator_id=admin_id, memo=memo)
                row = await conn.fetchrow(
                    f"UPDATE payouts SET state = $2, settle_tx = $3, withheld = $4, "
                    f"decided_by = $5, decided_at = now(), note = $6 "
                    f"WHERE id = $1 AND state = 'pending' RETURNING {_COLUMNS}",
                    payout_id,
                    to,
                    tx_id,
                    withheld,
                    admin_id,
                    note,
                )
                if row is None:
                    raise _LostRace
        except _LostRace:
            latest = await self.get(payout_id)
            assert latest is not None
            return self._already(latest, to)
        return _payout(row), False

    @staticmethod
    def _already(payout: Payout, to: str) -> tuple[Payout, bool]:
        if payout.state == to:
            return payout, True
        raise PayoutNotPending(
            f"the payout was already {payout.state}",
            meta={"id": str(payout.id), "state": payout.state},
        )


class _LostRace(Exception):
    """Another decision changed the payout first: roll our posting back."""


# The node's payouts (made at start-up by `api.wallet.lifecycle`).
PAYOUTS: web.AppKey[Payouts] = web.AppKey("payouts", Payouts)
