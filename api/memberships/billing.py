"""Charging memberships through the ledger: the first period when joining, then renewals.

The same calendar and states as creator subscriptions (`api.subscriptions.model`, the
``TEEZU_SUBSCRIPTION_*`` settings): a membership renews each period until cancelled, goes into
grace when a renewal cannot be paid and expires when grace runs out. Every charge is one
ledger transaction of kind ``membership`` (the member's wallet pays the platform the plan's
price) plus a ``membership_charges`` row keyed by (membership, period) in the same database
transaction, so a period is charged at most once however many renewal passes race; a pass
claims each due membership with ``FOR UPDATE SKIP LOCKED``. Joining is idempotent per
``Idempotency-Key`` (`api.wallet.idempotency.run_idempotent`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from api.memberships.errors import AlreadyMember
from api.memberships.plans import PLANS, Plan, PlanId
from api.subscriptions import model
from api.subscriptions.billing import RenewalReport
from api.subscriptions.model import Billing, Due, State, Step
from api.wallet import idempotency, store
from api.wallet.accounts import AccountBook
from api.wallet.errors import InsufficientFunds
from api.wallet.model import AccountKind, IdempotencyKey, Outcome, Posting, TxKind
from teezu.db import Connection

log = logging.getLogger(__name__)

JOIN = "membership_join"


def _period_sql(param: str) -> str:
    return (
        f"(CASE WHEN {param}::int > 0 THEN make_interval(secs => {param}::int) "
        "ELSE interval '1 month' END)"
    )


async def _charge(
    conn: Connection,
    book: AccountBook,
    *,
    membership_id: uuid.UUID,
    user_id: uuid.UUID,
    plan: Plan,
    period: int,
    period_start: datetime,
    period_end: datetime,
) -> int:
    """Post one period's charge and its row; raises `InsufficientFunds` (roll back)."""
    wallet = await book.of(conn, AccountKind.WALLET, user_id)
    platform = await book.system(conn, AccountKind.PLATFORM)
    tx_id = await store.post(
        conn,
        TxKind.MEMBERSHIP,
        [Posting(wallet, -plan.price), Posting(platform, plan.price)],
        initiator_id=user_id,
        memo={"membership": str(membership_id), "plan": plan.id.value, "period": period},
    )
    await conn.execute(
        "INSERT INTO membership_charges "
        "(membership_id, period, plan, price, tx_id, period_start, period_end) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        membership_id,
        period,
        plan.id.value,
        plan.price,
        tx_id,
        period_start,
        period_end,
    )
    return tx_id


async def join(
    pool: asyncpg.Pool,
    book: AccountBook,
    key: IdempotencyKey,
    plan: Plan,
    billing: Billing,
    *,
    request_id: str | None = None,
) -> Outcome:
    """Start ``plan`` for ``key.owner_id`` and charge its first period now.

    Success data: ``membershipId``, ``plan``, ``price``, ``transactionId``, ``balance``; or
    the stored error ``INSUFFICIENT_FUNDS`` (nothing created). Raises `AlreadyMember` while a
    membership of the same kind is live.
    """
    user_id = key.owner_id
    membership_id = uuid.uuid4()
    # Created outside the idempotent transaction (see api.subscriptions.billing.Payees).
    wallet = await book.of(pool, AccountKind.WALLET, user_id)
    await book.system(pool, AccountKind.PLATFORM)

    async def body(conn: Connection) -> dict[str, Any]:
        try:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "INSERT INTO memberships (id, user_id, plan, kind, current_period_start, "
                    "current_period_end, access_until, next_attempt_at) "
                    "SELECT $1, $2, $3, $4, now(), now() + p, now() + p + $6::interval, "
                    f"now() + p FROM (SELECT {_period_sql('$5')} AS p) AS period "
                    "RETURNING current_period_start, current_period_end",
                    membership_id,
                    user_id,
                    plan.id.value,
                    plan.kind,
                    billing.period_seconds or 0,
                    billing.grace,
                )
        except asyncpg.UniqueViolationError:
            existing = await conn.fetchrow(
                "SELECT id, plan FROM memberships WHERE user_id = $1 AND kind = $2 "
                "AND state IN ('active', 'grace')",
                user_id,
                plan.kind,
            )
            raise AlreadyMember(
                "you already hold a membership of this kind; cancel it first",
                meta={
                    "membershipId": str(existing["id"]) if existing else None,
                    "plan": existing["plan"] if existing else None,
                },
            ) from None
        assert row is not None
        try:
            tx_id = await _charge(
                conn,
                book,
                membership_id=membership_id,
                user_id=user_id,
                plan=plan,
                period=0,
                period_start=row["current_period_start"],
                period_end=row["current_period_end"],
            )
        except InsufficientFunds:
            balance = await conn.fetchval(
                "SELECT balance FROM ledger_accounts WHERE id = $1", wallet.id
            )
            raise InsufficientFunds(
                "not enough tokens in the wallet", meta={"amount": plan.price, "balance": balance}
            ) from None
        balance = await conn.fetchval(
            "SELECT balance FROM ledger_accounts WHERE id = $1", wallet.id
        )
        return {
            "membershipId": str(membership_id),
            "plan": plan.id.value,
            "price": plan.price,
            "transactionId": tx_id,
            "balance": balance,
        }

    fingerprint = idempotency.request_hash(JOIN, {"plan": plan.id.value})
    try:
        return await idempotency.run_idempotent(
            pool, key, JOIN, fingerprint, body, request_id=request_id
        )
    except AlreadyMember as exc:
        try:
            return await idempotency.replay(pool, key, JOIN, fingerprint)
        except LookupError:
            raise exc from None


# ---- renewals ---------------------------------------------------------------------------

_DUE = """
SELECT id, user_id FROM memberships
WHERE state IN ('active', 'grace') AND next_attempt_at <= now()
ORDER BY next_attempt_at LIMIT $1
"""

_CLAIM = """
SELECT m.id, m.user_id, m.plan, m.state, m.period, m.current_period_end,
       m.cancel_at_period_end, m.grace_until, now() AS now,
       m.current_period_end + {period} AS end_if_on_time
FROM memberships m
WHERE m.id = $2 AND m.state IN ('active', 'grace') AND m.next_attempt_at <= now()
FOR UPDATE SKIP LOCKED
"""


async def renew_due(
    pool: asyncpg.Pool, book: AccountBook, billing: Billing, *, limit: int = 500
) -> RenewalReport:
    """One renewal pass over due memberships; safe on any number of nodes at once."""
    report = RenewalReport()
    claim = _CLAIM.format(period=_period_sql("$1"))
    for due in await pool.fetch(_DUE, limit):
        await book.of(pool, AccountKind.WALLET, due["user_id"])
        await book.system(pool, AccountKind.PLATFORM)
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(claim, billing.period_seconds or 0, due["id"])
            if row is None:
                continue
            await _renew_one(conn, book, billing, row, PLANS[PlanId(row["plan"])], report)
    if report.handled:
        log.info(
            "membership renewals: %d renewed, %d ended, %d in grace, %d expired",
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
    plan: Plan,
    report: RenewalReport,
) -> None:
    due = Due(
        state=State(row["state"]),
        cancel_at_period_end=row["cancel_at_period_end"],
        current_period_end=row["current_period_end"],
        grace_until=row["grace_until"],
    )
    mid: uuid.UUID = row["id"]
    now: datetime = row["now"]
    if model.step(due) is Step.END:
        await conn.execute(
            "UPDATE memberships SET state = 'ended', ended_at = $2, grace_until = NULL, "
            "access_until = least(access_until, $2), updated_at = $2 WHERE id = $1",
            mid,
            now,
        )
        report.ended += 1
        return
    start = model.next_period_start(due, now, row["end_if_on_time"])
    end = await conn.fetchval(
        f"SELECT $1::timestamptz + {_period_sql('$2')}", start, billing.period_seconds or 0
    )
    period = row["period"] + 1
    try:
        async with conn.transaction():
            await _charge(
                conn,
                book,
                membership_id=mid,
                user_id=row["user_id"],
                plan=plan,
                period=period,
                period_start=start,
                period_end=end,
            )
    except InsufficientFunds:
        failed = model.after_failure(due, now, billing)
        await conn.execute(
            "UPDATE memberships SET state = $2, grace_until = $3, next_attempt_at = $4, "
            "access_until = $5, failed_attempts = failed_attempts + 1, updated_at = $6, "
            "ended_at = CASE WHEN $2 = 'expired' THEN $6::timestamptz END WHERE id = $1",
            mid,
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
        "UPDATE memberships SET state = 'active', period = $2, current_period_start = $3, "
        "current_period_end = $4, grace_until = NULL, next_attempt_at = $4, access_until = $5, "
        "failed_attempts = 0, updated_at = $6 WHERE id = $1",
        mid,
        period,
        start,
        end,
        model.access_until_paid(end, billing, cancelled=False),
        now,
    )
    report.renewed += 1
    report.charged.append((mid, period))
