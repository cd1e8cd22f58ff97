"""SQL shared by the ledger's operations: posting a transaction, balances, history.

Functions take a connection (inside the caller's database transaction) or a pool. The hot
paths (tips, holds) have their own single-statement SQL next to their operation; this module
is for the rarer multi-statement ones (purchases, refunds, chargebacks) and for reading.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.wallet.errors import InsufficientFunds
from api.wallet.model import Account, Posting, TxKind, array_literals, balanced
from teezu.db import Connection, Db


async def post(
    conn: Connection,
    kind: TxKind,
    postings: list[Posting],
    *,
    initiator_id: uuid.UUID | None = None,
    fee_schedule: str | None = None,
    reverses: int | None = None,
    stream_id: uuid.UUID | None = None,
    purchase_id: uuid.UUID | None = None,
    hold_id: uuid.UUID | None = None,
    subscription_id: uuid.UUID | None = None,
    memo: dict[str, Any] | None = None,
) -> int:
    """Record one balanced transaction; returns its id. Call inside a database transaction.

    Wallet balances move by conditional UPDATEs (never below zero: `InsufficientFunds`, and
    the caller's database transaction must then be rolled back), in account-id order so that
    two transactions touching the same wallets cannot deadlock.
    """
    entries = balanced(postings)
    for p in sorted(entries, key=lambda p: p.account.id):
        if p.account.maintained:
            moved = await conn.fetchval(
                "UPDATE ledger_accounts SET balance = balance + $2 "
                "WHERE id = $1 AND balance + $2 >= 0 RETURNING balance",
                p.account.id,
                p.amount,
            )
            if moved is None:
                raise InsufficientFunds(
                    "not enough tokens in the wallet", meta={"account": p.account.id}
                )
    tx_id: int = await conn.fetchval(
        "INSERT INTO ledger_transactions "
        "(kind, initiator_id, fee_schedule, reverses, stream_id, purchase_id, hold_id, memo, "
        "subscription_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        kind,
        initiator_id,
        fee_schedule,
        reverses,
        stream_id,
        purchase_id,
        hold_id,
        json.dumps(memo or {}),
        subscription_id,
    )
    await conn.execute(
        "INSERT INTO ledger_entries (tx_id, account_id, amount) "
        "SELECT $1, a, m FROM unnest($2::text::bigint[], $3::text::bigint[]) AS u(a, m)",
        tx_id,
        *array_literals(entries),
    )
    return tx_id


# The balance of a derived account: its roll-up plus every entry at or after the roll-up's
# horizon (see api.wallet.rollup).
_DERIVED_BALANCE = """
SELECT coalesce(r.balance, 0) + coalesce((
    SELECT sum(e.amount) FROM ledger_entries e
    WHERE e.account_id = a.id AND e.xid >= coalesce(r.through_xid, '0'::xid8)
), 0)
FROM ledger_accounts a LEFT JOIN ledger_rollups r ON r.account_id = a.id
WHERE a.id = $1
"""


async def balance(db: Db, account: Account) -> int:
    """An account's balance: the maintained column for wallets, else derived from entries."""
    if account.maintained:
        value = await db.fetchval("SELECT balance FROM ledger_accounts WHERE id = $1", account.id)
    else:
        value = await db.fetchval(_DERIVED_BALANCE, account.id)
    return int(value or 0)


async def lock_wallet(conn: Connection, account: Account) -> int:
    """Lock a wallet's row for this database transaction; returns its balance.

    Every spend updates this row, so holding it keeps the wallet (and the owner's receivable,
    which only changes under this lock) still while a purchase, refund or chargeback works out
    what to post.
    """
    assert account.maintained
    return int(
        await conn.fetchval(
            "SELECT balance FROM ledger_accounts WHERE id = $1 FOR UPDATE", account.id
        )
    )


async def lock_account(conn: Connection, account: Account) -> None:
    """Serialize the operations that take tokens out of a derived account (chargebacks, and
    later payouts). Tips only ever add to it, so they never wait for this lock."""
    await conn.execute("SELECT pg_advisory_xact_lock(7465, ($1 % 2147483647)::int)", account.id)


@dataclass(frozen=True)
class HistoryLine:
    tx_id: int
    kind: str
    amount: int
    created_at: datetime
    stream_id: uuid.UUID | None
    purchase_id: uuid.UUID | None
    hold_id: uuid.UUID | None
    reverses: int | None
    cursor: str

    def public(self) -> dict[str, Any]:
        return {
            "transactionId": self.tx_id,
            "kind": self.kind,
            "amount": self.amount,
            "createdAt": self.created_at.isoformat(),
            "streamId": str(self.stream_id) if self.stream_id else None,
            "purchaseId": str(self.purchase_id) if self.purchase_id else None,
            "holdId": str(self.hold_id) if self.hold_id else None,
            "reverses": self.reverses,
        }


async def history(
    db: Db, account: Account, *, limit: int, before: tuple[int, int] | None
) -> list[HistoryLine]:
    """An account's entries, newest first; ``before`` is the (xid, tx id) cursor of a page."""
    rows = await db.fetch(
        "SELECT e.xid::text::bigint AS xid, e.tx_id, e.amount, t.kind, t.created_at, "
        "t.stream_id, t.purchase_id, t.hold_id, t.reverses "
        "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id "
        "WHERE e.account_id = $1 AND ($2::bigint IS NULL "
        "OR (e.xid, e.tx_id) < ($2::bigint::text::xid8, $3::bigint)) "
        "ORDER BY e.xid DESC, e.tx_id DESC LIMIT $4",
        account.id,
        before[0] if before else None,
        before[1] if before else None,
        limit,
    )
    return [
        HistoryLine(
            tx_id=r["tx_id"],
            kind=r["kind"],
            amount=r["amount"],
            created_at=r["created_at"],
            stream_id=r["stream_id"],
            purchase_id=r["purchase_id"],
            hold_id=r["hold_id"],
            reverses=r["reverses"],
            cursor=f"{r['xid']}.{r['tx_id']}",
        )
        for r in rows
    ]
