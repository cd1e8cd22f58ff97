"""The ledger's vocabulary: account and transaction kinds, postings, and what operations return.

Amounts are integer tokens (``int``) everywhere; a transaction is a list of `Posting`s whose
amounts sum to zero (debits are negative, credits positive), checked here before any SQL runs
and again by the database at commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from api.wallet.errors import UnbalancedTransaction


class AccountKind(StrEnum):
    WALLET = "wallet"  # a viewer's spendable tokens; maintained balance, never negative
    EARNINGS = "earnings"  # a creator's or referrer's earned tokens; derived balance
    RECEIVABLE = "receivable"  # a viewer's chargeback debt; derived balance, <= 0
    SALES = "sales"  # system: tokens are issued from here against payments
    PLATFORM = "platform"  # system: platform fee revenue
    ESCROW = "escrow"  # system: tokens reserved by holds
    CHARGEBACK_RESERVE = "chargeback_reserve"  # system: absorbs what earnings cannot cover
    PAYOUTS_PENDING = "payouts_pending"  # system: earnings reserved by payout requests
    PAYOUTS_PAID = "payouts_paid"  # system: tokens paid out (they have left the system)

    @property
    def system(self) -> bool:
        return self in SYSTEM_ACCOUNTS


SYSTEM_ACCOUNTS = frozenset(
    {
        AccountKind.SALES,
        AccountKind.PLATFORM,
        AccountKind.ESCROW,
        AccountKind.CHARGEBACK_RESERVE,
        AccountKind.PAYOUTS_PENDING,
        AccountKind.PAYOUTS_PAID,
    }
)


class TxKind(StrEnum):
    PURCHASE = "purchase"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    TIP = "tip"
    TIP_REVERSAL = "tip_reversal"
    HOLD_RESERVE = "hold_reserve"
    HOLD_CAPTURE = "hold_capture"
    HOLD_RELEASE = "hold_release"
    SUBSCRIPTION = "subscription"  # a period of a subscription (api.subscriptions)
    MEMBERSHIP = "membership"  # a period of a platform membership, all to the platform
    PAYOUT_RESERVE = "payout_reserve"  # earnings -> payouts_pending (a creator's request)
    PAYOUT_CAPTURE = "payout_capture"  # payouts_pending -> payouts_paid (+ reserve share)
    PAYOUT_RELEASE = "payout_release"  # payouts_pending -> earnings (rejected)


# Transactions in which a viewer spends tokens on someone (reversible by a chargeback).
SPENDS = frozenset({TxKind.TIP, TxKind.HOLD_CAPTURE, TxKind.SUBSCRIPTION})

# Transactions that credit an earner for a viewer's spend: these mature before a payout.
EARNING_KINDS = frozenset({TxKind.TIP, TxKind.HOLD_CAPTURE, TxKind.SUBSCRIPTION})


class HoldPurpose(StrEnum):
    PRIVATE_SHOW = "private_show"
    PLEDGE = "pledge"
    TICKET = "ticket"
    PAYOUT = "payout"
    BOOKING = "booking"  # a provider service's booked slot (api.services)


class HoldState(StrEnum):
    HELD = "held"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Account:
    """A ledger account; its identity (id, kind, owner) never changes once created."""

    id: int
    kind: AccountKind
    owner_id: uuid.UUID | None = None

    @property
    def maintained(self) -> bool:
        """Whether the balance column is kept up to date (wallets) or derived from entries."""
        return self.kind is AccountKind.WALLET


@dataclass(frozen=True, slots=True)
class Posting:
    """One entry of a transaction to be: ``amount`` tokens (signed) on ``account``."""

    account: Account
    amount: int


def balanced(postings: Iterable[Posting]) -> list[Posting]:
    """Merge postings per account, drop zeros, and refuse anything that is not a valid transaction.

    Raises `UnbalancedTransaction` unless the result has at least two entries, every amount is
    an ``int`` (never a float or bool) and the amounts sum to zero.
    """
    merged: dict[int, int] = {}
    accounts: dict[int, Account] = {}
    for p in postings:
        if type(p.amount) is not int:
            raise UnbalancedTransaction(f"amounts are integer tokens, got {p!r}")
        accounts[p.account.id] = p.account
        merged[p.account.id] = merged.get(p.account.id, 0) + p.amount
    out = [Posting(accounts[a], m) for a, m in merged.items() if m != 0]
    if len(out) < 2:
        raise UnbalancedTransaction(f"a transaction needs at least two entries, got {out}")
    total = sum(p.amount for p in out)
    if total != 0:
        raise UnbalancedTransaction(f"debits and credits differ by {total}: {out}")
    return out


def array_literals(entries: list[Posting]) -> tuple[str, str]:
    """(account ids, amounts) as PostgreSQL ``bigint[]`` literals, e.g. ``{3,7}``.

    Sent as text and cast in SQL: asyncpg's generic array encoder runs several ABC
    ``isinstance`` checks per element, a measurable share of a tip's client CPU.
    """
    return (
        "{" + ",".join(str(p.account.id) for p in entries) + "}",
        "{" + ",".join(str(p.amount) for p in entries) + "}",
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of a mutating money call, as stored with its idempotency key and replayed.

    ``error`` is None on success; otherwise a stable code (``INSUFFICIENT_FUNDS``, …) with
    ``data`` giving details. ``replayed`` is True when this came from an earlier call's key.
    """

    data: dict[str, Any]
    error: str | None = None
    request_id: str | None = None  # the first call's request id, so a replay is identical
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {"error": self.error, "data": self.data, "requestId": self.request_id}

    @classmethod
    def from_json(cls, stored: dict[str, Any], *, replayed: bool = True) -> Outcome:
        return cls(
            data=stored["data"],
            error=stored["error"],
            request_id=stored.get("requestId"),
            replayed=replayed,
        )


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """Who is calling and the key they sent: keys are scoped to their owner."""

    owner_id: uuid.UUID
    key: str
