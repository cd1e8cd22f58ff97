"""Token packages and purchases: created pending, credited when the provider confirms.

A confirmed purchase posts ``sales -> wallet``. If the buyer owes tokens from an earlier
chargeback (their receivable is negative), the new tokens settle that debt first and only the
rest reaches the wallet. Refunds and chargebacks are new transactions that reverse it
(`api.wallet.chargebacks`); the purchase row's state records which one happened, once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from api.wallet import idempotency, store
from api.wallet.accounts import AccountBook
from api.wallet.errors import PurchaseNotRefundable, UnknownItem
from api.wallet.idempotency import run_idempotent
from api.wallet.model import AccountKind, IdempotencyKey, Outcome, Posting, TxKind
from teezu.db import Connection, Db

CREATE = "purchase"
_COLUMNS = (
    "id, buyer_id, package_id, tokens, price_minor, currency, provider, payment_method, "
    "provider_ref, state, credit_tx, reversal_tx, created_at, updated_at"
)


@dataclass(frozen=True)
class TokenPackage:
    id: str
    tokens: int
    price_minor: int
    currency: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tokens": self.tokens,
            "price": {"amountMinor": self.price_minor, "currency": self.currency},
        }


@dataclass(frozen=True)
class Purchase:
    id: uuid.UUID
    buyer_id: uuid.UUID
    package_id: str
    tokens: int
    price_minor: int
    currency: str
    provider: str
    payment_method: str | None
    provider_ref: str | None
    state: str  # pending | confirmed | declined | refunded | charged_back
    credit_tx: int | None
    reversal_tx: int | None
    created_at: datetime
    updated_at: datetime

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "packageId": self.package_id,
            "tokens": self.tokens,
            "price": {"amountMinor": self.price_minor, "currency": self.currency},
            "provider": self.provider,
            "state": self.state,
            "createdAt": self.created_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
        }


async def packages(db: Db) -> list[TokenPackage]:
    rows = await db.fetch(
        "SELECT id, tokens, price_minor, currency FROM token_packages WHERE active ORDER BY tokens"
    )
    return [TokenPackage(**dict(r)) for r in rows]


async def get(db: Db, purchase_id: uuid.UUID, *, lock: bool = False) -> Purchase | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM purchases WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        purchase_id,
    )
    return Purchase(**dict(row)) if row else None


async def create(
    pool: asyncpg.Pool,
    key: IdempotencyKey,
    *,
    package_id: str,
    provider: str,
    payment_method: str | None = None,
    request_id: str | None = None,
) -> Outcome:
    """Record a pending purchase of a package (idempotent per key); the caller then starts the
    provider's checkout for it. Unknown or retired packages are ``UNKNOWN_ITEM``."""

    async def body(conn: Connection) -> dict[str, Any]:
        package = await conn.fetchrow(
            "SELECT id, tokens, price_minor, currency FROM token_packages WHERE id = $1 AND active",
            package_id,
        )
        if package is None:
            raise UnknownItem("no such token package", meta={"packageId": package_id})
        row = await conn.fetchrow(
            "INSERT INTO purchases (id, buyer_id, package_id, tokens, price_minor, currency, "
            f"provider, payment_method) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            f"RETURNING {_COLUMNS}",
            uuid.uuid4(),
            key.owner_id,
            package["id"],
            package["tokens"],
            package["price_minor"],
            package["currency"],
            provider,
            payment_method,
        )
        assert row is not None  # the query always returns a row
        return {"purchase": Purchase(**dict(row)).public()}

    fingerprint = idempotency.request_hash(
        CREATE, {"package": package_id, "provider": provider, "method": payment_method}
    )
    return await run_idempotent(pool, key, CREATE, fingerprint, body, request_id=request_id)


async def set_provider_ref(db: Db, purchase_id: uuid.UUID, provider_ref: str) -> None:
    """Remember the provider's payment id (once; a second checkout start keeps the first)."""
    await db.execute(
        "UPDATE purchases SET provider_ref = $2, updated_at = now() "
        "WHERE id = $1 AND provider_ref IS NULL",
        purchase_id,
        provider_ref,
    )


async def confirm(conn: Connection, book: AccountBook, purchase_id: uuid.UUID) -> str:
    """Credit a pending purchase's tokens (inside the caller's database transaction, which
    also records the webhook event). Returns what happened: ``applied`` or why it was not."""
    purchase = await get(conn, purchase_id, lock=True)
    if purchase is None:
        return "ignored: unknown purchase"
    if purchase.state != "pending":
        return f"ignored: purchase is {purchase.state}"
    wallet = await book.of(conn, AccountKind.WALLET, purchase.buyer_id)
    await store.lock_wallet(conn, wallet)
    postings = [Posting(await book.system(conn, AccountKind.SALES), -purchase.tokens)]
    receivable = await book.find(conn, AccountKind.RECEIVABLE, purchase.buyer_id)
    owed = -(await store.balance(conn, receivable)) if receivable else 0
    settle = min(max(owed, 0), purchase.tokens)
    if settle and receivable is not None:
        postings.append(Posting(receivable, settle))
    postings.append(Posting(wallet, purchase.tokens - settle))
    tx_id = await store.post(
        conn,
        TxKind.PURCHASE,
        postings,
        initiator_id=purchase.buyer_id,
        purchase_id=purchase.id,
        memo={"debtSettled": settle} if settle else None,
    )
    await conn.execute(
        "UPDATE purchases SET state = 'confirmed', credit_tx = $2, updated_at = now() "
        "WHERE id = $1",
        purchase.id,
        tx_id,
    )
    return "applied"


async def decline(conn: Connection, purchase_id: uuid.UUID) -> str:
    """Mark a pending purchase declined (no tokens ever moved)."""
    done = await conn.fetchval(
        "UPDATE purchases SET state = 'declined', updated_at = now() "
        "WHERE id = $1 AND state = 'pending' RETURNING id",
        purchase_id,
    )
    return "applied" if done else "ignored: purchase is not pending"


async def refund(conn: Connection, book: AccountBook, purchase_id: uuid.UUID) -> int:
    """Take a confirmed purchase's tokens back out of the wallet (all of them: a purchase
    whose tokens were partly spent is not refundable). Tokens that went to settle a chargeback
    debt go back to being owed. Returns the refund transaction id."""
    purchase = await get(conn, purchase_id, lock=True)
    if purchase is None or purchase.state != "confirmed":
        raise PurchaseNotRefundable(
            "only a confirmed purchase can be refunded",
            meta={"purchaseId": str(purchase_id), "state": purchase.state if purchase else None},
        )
    wallet = await book.of(conn, AccountKind.WALLET, purchase.buyer_id)
    balance = await store.lock_wallet(conn, wallet)
    settled = int(
        await conn.fetchval(
            "SELECT coalesce((memo->>'debtSettled')::bigint, 0) FROM ledger_transactions "
            "WHERE id = $1",
            purchase.credit_tx,
        )
    )
    credited = purchase.tokens - settled
    if balance < credited:
        raise PurchaseNotRefundable(
            "the purchase's tokens were spent",
            meta={"purchaseId": str(purchase_id), "balance": balance, "tokens": credited},
        )
    postings = [
        Posting(wallet, -credited),
        Posting(await book.system(conn, AccountKind.SALES), purchase.tokens),
    ]
    if settled:
        postings.append(
            Posting(await book.of(conn, AccountKind.RECEIVABLE, purchase.buyer_id), -settled)
        )
    tx_id = await store.post(
        conn,
        TxKind.REFUND,
        postings,
        initiator_id=purchase.buyer_id,
        purchase_id=purchase.id,
        reverses=purchase.credit_tx,
    )
    await conn.execute(
        "UPDATE purchases SET state = 'refunded', reversal_tx = $2, updated_at = now() "
        "WHERE id = $1",
        purchase.id,
        tx_id,
    )
    return tx_id
