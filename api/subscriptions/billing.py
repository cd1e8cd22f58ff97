"""Charging subscriptions through the ledger: the first period at once, then renewals.

Every charge is one ledger transaction of kind ``subscription`` (the subscriber's wallet pays
the creator, the platform and the creator's referrer, split like a tip under the current fee
schedule) with the subscription's id on it, plus a ``subscription_charges`` row keyed by
(subscription, period) in the same database transaction, recording the price charged.

Exactly once per period, however many renewal jobs run: a job claims each due subscription
with ``FOR UPDATE SKIP LOCKED`` (re-checking that it is still due once locked), so two jobs
never work on the same one, and the (subscription, period) primary key refuses a second
charge of a period even if that ever failed. A subscribe is idempotent per
``Idempotency-Key`` like a tip (`api.wallet.idempotency.run_idempotent`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from api.subscriptions import model
from api.subscriptions.errors import AlreadySubscribed
from api.subscriptions.model import Billing, Due, State, Step
from api.subscriptions.store import Tier
from api.wallet import idempotency, store
from api.wallet.accounts import AccountBook
from api.wallet.errors import InsufficientFunds
from api.wallet.fees import split
from api.wallet.model import Account, AccountKind, IdempotencyKey, Outcome, Posting, TxKind
from teezu.db import Connection

log = logging.getLogger(__name__)

SUBSCRIBE = "subscribe"


def billing_from(settings: Any) -> Billing:
    """The billing calendar of `teezu.settings.Settings` (``TEEZU_SUBSCRIPTION_*``)."""
    return Billing(
        period_seconds=settings.subscription_period_seconds or None,
        grace=timedelta(seconds=settings.subscription_grace_seconds),
        retry=timedelta(seconds=settings.subscription_retry_seconds),
    )


def _period_sql(param: str) -> str:
    """An SQL interval of one period: a calendar month, or ``param`` seconds when > 0."""
    return (
        f"(CASE WHEN {param}::int > 0 THEN make_interval(secs => {param}::int) "
        "ELSE interval '1 month' END)"
    )


@dataclass(frozen=True)
class Payees:
    """The accounts a charge posts to, resolved before the charge's database transaction (an
    account created inside a transaction that rolls back must never reach the book's cache)."""

    wallet: Account
    creator: Account
    platform: Account
    referrer: Account | None
    referrer_id: uuid.UUID | None


async def payees(
    pool: asyncpg.Pool, book: AccountBook, subscriber: uuid.UUID, creator: uuid.UUID
) -> Payees:
    referrer = await book.referrer_of(pool, creator)
    return Payees(
        wallet=await book.of(pool, AccountKind.WALLET, subscriber),
        creator=await book.of(pool, AccountKind.EARNINGS, creator),
        platform=await book.system(pool, AccountKind.PLATFORM),
        referrer=await book.of(pool, AccountKind.EARNINGS, referrer) if referrer else None,
        referrer_id=referrer,
    )


async def _charge(
    conn: Connection,
    book: AccountBook,
    to: Payees,
    *,
    subscription_id: uuid.UUID,
    subscriber: uuid.UUID,
    creator: uuid.UUID,
    tier_id: uuid.UUID,
    price: int,
    period: int,
    period_start: datetime,
    period_end: datetime,
) -> dict[str, Any]:
    """Post one period's charge and its (subscription, period) row; raises
    `InsufficientFunds` (roll the caller's transaction or savepoint back)."""
    schedule = await book.current_schedule(conn)
    shares = split(price, schedule, referred=to.referrer is not None)
    postings = [
        Posting(to.wallet, -price),
        Posting(to.creator, shares.creator),
        Posting(to.platform, shares.platform),
    ]
    if to.referrer is not None:
        postings.append(Posting(to.referrer, shares.referral))
    tx_id = await store.post(
        conn,
        TxKind.SUBSCRIPTION,
        postings,
        initiator_id=subscriber,
        fee_schedule=schedule.version,
        subscription_id=subscription_id,
        memo={
            "payee": str(creator),
            "referrer": str(to.referrer_id) if to.referrer_id else None,
            "period": period,
            "tier": str(tier_id),
            "price": price,
        },
    )
    await conn.execute(
        "INSERT INTO subscription_charges "
        "(subscription_id, period, tier_id, price, tx_id, period_start, period_end) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        subscription_id,
        period,
        tier_id,
        price,
        tx_id,
        period_start,
        period_end,
    )
    return {
        "transactionId": tx_id,
        "price": price,
        "feeSchedule": schedule.version,
        "split": {
            "creator": shares.creator,
            "platform": shares.platform,
            "referral": shares.referral,
        },
    }


async def subscribe(
    pool: asyncpg.Pool,
    book: AccountBook,
    key: IdempotencyKey,
    tier: Tier,
    billing: Billing,
    *,
    request_id: str | None = None,
) -> Outcome:
    """Subscribe ``key.owner_id`` to ``tier`` and charge its first period now.

    Success data: ``subscriptionId`` and the charge; or the stored error
    ``INSUFFICIENT_FUNDS`` (nothing created). Raises `AlreadySubscribed` while the viewer has a
    live subscription to the creator (not stored: a retry sees the same). Checking that the
    tier is active and not the caller's own is the caller's.
    """
    subscriber = key.owner_id
    to = await payees(pool, book, subscriber, tier.creator_id)
    subscription_id = uuid.uuid4()

    # Everything below runs on the one connection of the idempotent transaction: taking a
    # second one from the pool while holding it could wait forever under load.
    async def body(conn: Connection) -> dict[str, Any]:
        try:
            async with conn.transaction():  # a savepoint: the refusal below reads on
                row = await conn.fetchrow(
                    "INSERT INTO subscriptions (id, subscriber_id, creator_id, tier_id, "
                    "current_period_start, current_period_end, access_until, next_attempt_at) "
                    "SELECT $1, $2, $3, $4, now(), now() + p, now() + p + $6::interval, "
                    f"now() + p FROM (SELECT {_period_sql('$5')} AS p) AS period "
                    "RETURNING current_period_start, current_period_end",
                    subscription_id,
                    subscriber,
                    tier.creator_id,
                    tier.id,
                    billing.period_seconds or 0,
                    billing.grace,
                )
        except asyncpg.UniqueViolationError:
            existing = await conn.fetchval(
                "SELECT id FROM subscriptions WHERE subscriber_id = $1 AND creator_id = $2 "
                "AND state IN ('active', 'grace')",
                subscriber,
                tier.creator_id,
            )
            raise AlreadySubscribed(
                "you already subscribe to this creator",
                meta={"subscriptionId": str(existing) if existing else None},
            ) from None
        try:
            assert row is not None  # the query always returns a row
            charge = await _charge(
                conn,
                book,
                to,
                subscription_id=subscription_id,
                subscriber=subscriber,
                creator=tier.creator_id,
                tier_id=tier.id,
                price=tier.price,
                period=0,
                period_start=row["current_period_start"],
                period_end=row["current_period_end"],
            )
        except InsufficientFunds:
            # The refused debit was a conditional UPDATE that matched nothing: no error, so
            # this transaction can still read the balance for the refusal.
            balance = await conn.fetchval(
                "SELECT balance FROM ledger_accounts WHERE id = $1", to.wallet.id
            )
            raise InsufficientFunds(
                "not enough tokens in the wallet", meta={"amount": tier.price, "balance": balance}
            ) from None
        balance = await conn.fetchval(
            "SELECT balance FROM ledger_accounts WHERE id = $1", to.wallet.id
        )
        return {"subscriptionId": str(subscription_id), "balance": balance, **charge}

    fingerprint = idempotency.request_hash(SUBSCRIBE, {"tier": tier.id})
    try:
        return await idempotency.run_idempotent(
            pool, key, SUBSCRIBE, fingerprint, body, request_id=request_id
        )
    except AlreadySubscribed as exc:
        # A retry of this very call meets its own subscription before its key: the stored
        # outcome answers it (or `IdempotencyKeyReused` if the key was for another request).
        try:
            return await idempotency.replay(pool, key, SUBSCRIBE, fingerprint)
        except LookupError:
            raise exc from None


# ---- renewals ---------------------------------------------------------------------------


@dataclass
class RenewalReport:
    renewed: int = 0
    ended: int = 0
    in_grace: int = 0
    expired: int = 0
    charged: list[tuple[uuid.UUID, int]] = field(default_factory=list)  # (subscription, period)

    @property
    def handled(self) -> int:
        return self.renewed + self.ended + self.in_grace + self.expired


_DUE = """
SELECT id, subscriber_id, creator_id FROM subscriptions
WHERE state IN ('active', 'grace') AND next_attempt_at <= now()
ORDER BY next_attempt_at LIMIT $1
"""

# Claims one due subscription: skipped if another job holds it, and re-checked once locked
# (a job that just renewed it moved next_attempt_at on), so no two jobs handle one period.
_CLAIM = """
SELECT s.id, s.subscriber_id, s.creator_id, s.tier_id, s.state, s.period,
       s.current_period_end, s.cancel_at_period_end, s.grace_until, now() AS now,
       s.current_period_end + {period} AS end_if_on_time
FROM subscriptions s
WHERE s.id = $2 AND s.state IN ('active', 'grace') AND s.next_attempt_at <= now()
FOR UPDATE SKIP LOCKED
"""


async def renew_due(
    pool: asyncpg.Pool, book: AccountBook, billing: Billing, *, limit: int = 500
) -> RenewalReport:
    """One renewal pass: handle up to ``limit`` due subscriptions (see the module docstring).

    Safe to run on any number of nodes at once; returns what this pass did. Each
    subscription is handled in a database transaction of its own; the accounts a charge posts
    to are found before it, so a pass never holds one pooled connection while waiting for
    another.
    """
    report = RenewalReport()
    claim = _CLAIM.format(period=_period_sql("$1"))
    for due in await pool.fetch(_DUE, limit):
        to = await payees(pool, book, due["subscriber_id"], due["creator_id"])
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(claim, billing.period_seconds or 0, due["id"])
            if row is None:
                continue  # another job has it, or has just handled it
            await _renew_one(conn, book, billing, row, to, report)
    if report.handled:
        log.info(
            "subscription renewals: %d renewed, %d ended, %d in grace, %d expired",
            report.renewed,
            report.ended,
            report.in_grace,
            report.expired,
        )
    return report


async def _renew_one(
    conn: Connection,
    book: AccountBook,
    billing: Billing,
    row: Any,
    to: Payees,
    report: RenewalReport,
) -> None:
    due = Due(
        state=State(row["state"]),
        cancel_at_period_end=row["cancel_at_period_end"],
        current_period_end=row["current_period_end"],
        grace_until=row["grace_until"],
    )
    sub_id: uuid.UUID = row["id"]
    now: datetime = row["now"]
    if model.step(due) is Step.END:
        await conn.execute(
            "UPDATE subscriptions SET state = 'ended', ended_at = $2, grace_until = NULL, "
            "access_until = least(access_until, $2), updated_at = $2 WHERE id = $1",
            sub_id,
            now,
        )
        report.ended += 1
        return
    price = await conn.fetchval(
        "SELECT price FROM subscription_tiers WHERE id = $1", row["tier_id"]
    )
    start = model.next_period_start(due, now, row["end_if_on_time"])
    end = await conn.fetchval(
        f"SELECT $1::timestamptz + {_period_sql('$2')}", start, billing.period_seconds or 0
    )
    period = row["period"] + 1
    try:
        async with conn.transaction():  # a savepoint: a refused charge leaves the row locked
            await _charge(
                conn,
                book,
                to,
                subscription_id=sub_id,
                subscriber=row["subscriber_id"],
                creator=row["creator_id"],
                tier_id=row["tier_id"],
                price=price,
                period=period,
                period_start=start,
                period_end=end,
            )
    except InsufficientFunds:
        failed = model.after_failure(due, now, billing)
        await conn.execute(
            "UPDATE subscriptions SET state = $2, grace_until = $3, next_attempt_at = $4, "
            "access_until = $5, failed_attempts = failed_attempts + 1, updated_at = $6, "
            "ended_at = CASE WHEN $2 = 'expired' THEN $6::timestamptz END WHERE id = $1",
            sub_id,
            failed.state.value,
            failed.grace_until,
            failed.next_attempt_at,
            failed.access_until,
            now,
        )
        if failed.state is State.EXPIRED:
            report.expired += 1
        else:
            report.in_grace += 1
        return
    await conn.execute(
        "UPDATE subscriptions SET state = 'active', period = $2, current_period_start = $3, "
        "current_period_end = $4, grace_until = NULL, next_attempt_at = $4, access_until = $5, "
        "failed_attempts = 0, updated_at = $6 WHERE id = $1",
        sub_id,
        period,
        start,
        end,
        model.access_until_paid(end, billing, cancelled=False),
        now,
    )
    report.renewed += 1
    report.charged.append((sub_id, period))
