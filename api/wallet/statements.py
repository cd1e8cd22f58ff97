"""A creator's earnings statement for a period: opening balance, every line, closing balance.

Read from the creator's ``earnings`` ledger entries, by their transaction's ``created_at``, in
one REPEATABLE READ snapshot, so the lines always sum from the opening balance to the closing
one. Each line is one ledger entry (one per transaction and account), so it carries the ledger
transaction id it reconciles to. Every transaction kind that touches earnings appears: tips,
hold captures (shows, tickets), subscription charges, chargeback reversals, payout requests
and rejected payouts' returns, and whatever kinds later features post there.

The period is ``[from, to)``. A period that reaches into the present is provisional: a
database transaction that started before ``to`` may still commit a line into it.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from api.wallet import store, xid_clock
from api.wallet.errors import StatementTooLarge
from api.wallet.model import Account

# What each kind means on a statement (unknown kinds are shown by their name).
DESCRIPTIONS = {
    "tip": "tip received",
    "hold_capture": "show or ticket (hold captured)",
    "tip_reversal": "chargeback: earning reversed",
    "subscription": "subscription period",
    "payout_reserve": "payout requested",
    "payout_release": "payout rejected: tokens returned",
}


@dataclass(frozen=True)
class StatementLine:
    tx_id: int
    kind: str
    amount: int
    created_at: datetime
    balance_after: int
    stream_id: uuid.UUID | None
    hold_id: uuid.UUID | None
    payout_id: str | None
    reverses: int | None

    def public(self) -> dict[str, Any]:
        return {
            "transactionId": self.tx_id,
            "kind": self.kind,
            "description": DESCRIPTIONS.get(self.kind, self.kind),
            "amount": self.amount,
            "balanceAfter": self.balance_after,
            "createdAt": self.created_at.isoformat(),
            "streamId": str(self.stream_id) if self.stream_id else None,
            "holdId": str(self.hold_id) if self.hold_id else None,
            "payoutId": self.payout_id,
            "reverses": self.reverses,
        }


@dataclass(frozen=True)
class Statement:
    start: datetime
    end: datetime
    opening: int
    closing: int
    lines: list[StatementLine]

    def totals(self) -> dict[str, int]:
        """The lines' sum per transaction kind."""
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.kind] = out.get(line.kind, 0) + line.amount
        return out

    def public(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "openingBalance": self.opening,
            "closingBalance": self.closing,
            "totals": self.totals(),
            "lines": [line.public() for line in self.lines],
        }

    def csv(self) -> str:
        """The statement as CSV: an opening row, one row per line, a closing row."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(
            [
                "transaction_id",
                "created_at",
                "kind",
                "description",
                "amount",
                "balance_after",
                "stream_id",
                "hold_id",
                "payout_id",
                "reverses",
            ]
        )
        w.writerow(["", self.start.isoformat(), "opening_balance", "", "", self.opening])
        for line in self.lines:
            p = line.public()
            w.writerow(
                [
                    line.tx_id,
                    p["createdAt"],
                    line.kind,
                    p["description"],
                    line.amount,
                    line.balance_after,
                    p["streamId"] or "",
                    p["holdId"] or "",
                    line.payout_id or "",
                    line.reverses or "",
                ]
            )
        w.writerow(["", self.end.isoformat(), "closing_balance", "", "", self.closing])
        return out.getvalue()


async def statement(
    pool: asyncpg.Pool, account: Account | None, start: datetime, end: datetime, *, max_lines: int
) -> Statement:
    """The statement of an earnings account for ``[start, end)``; `StatementTooLarge` past
    ``max_lines`` lines (ask for a shorter period)."""
    if account is None:
        return Statement(start, end, 0, 0, [])
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # Entries created at or after `start` all have xid >= floor (xid_clock): the opening
        # balance is today's balance less those, and the lines are among them. Neither query
        # reads the account's older history.
        floor = await xid_clock.xid_floor(conn, start)
        since = int(
            await conn.fetchval(
                "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e "
                "JOIN ledger_transactions t ON t.id = e.tx_id "
                "WHERE e.account_id = $1 AND e.xid >= $3::bigint::text::xid8 "
                "AND t.created_at >= $2",
                account.id,
                start,
                floor,
            )
        )
        opening = await store.balance(conn, account) - since
        rows = await conn.fetch(
            "SELECT e.tx_id, e.amount, t.kind, t.created_at, t.stream_id, t.hold_id, "
            "t.reverses, t.memo->>'payoutId' AS payout_id "
            "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id "
            "WHERE e.account_id = $1 AND e.xid >= $5::bigint::text::xid8 "
            "AND t.created_at >= $2 AND t.created_at < $3 "
            "ORDER BY t.created_at, e.tx_id LIMIT $4",
            account.id,
            start,
            end,
            max_lines + 1,
            floor,
        )
    if len(rows) > max_lines:
        raise StatementTooLarge(
            f"more than {max_lines} lines in this period: ask for a shorter one",
            meta={"maxLines": max_lines},
        )
    running = opening
    lines = []
    for r in rows:
        running += r["amount"]
        lines.append(
            StatementLine(
                tx_id=r["tx_id"],
                kind=r["kind"],
                amount=r["amount"],
                created_at=r["created_at"],
                balance_after=running,
                stream_id=r["stream_id"],
                hold_id=r["hold_id"],
                payout_id=r["payout_id"],
                reverses=r["reverses"],
            )
        )
    return Statement(start, end, opening, running, lines)
