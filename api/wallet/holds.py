"""Two-phase holds (invariant 7): reserve tokens now, then capture or release them exactly once.

A reserve moves tokens from the viewer's wallet to the escrow account and records a hold with
an expiry; an extension adds tokens and time (a private show extends its hold each minute).
The hold then ends exactly once, by one conditional UPDATE of its state from ``held``:

* capture: up to the held amount goes to the payee under the current fee schedule (the same
  split as a tip) and the rest returns to the wallet;
* release: everything returns to the wallet;
* expiry: the ledger worker releases holds past ``expires_at``; a capture after the expiry
  is refused, so a hold that outlived its show cannot be billed.

Concurrent capture/release/expiry calls race on that UPDATE; exactly one wins, the others see
``HOLD_NOT_ACTIVE`` (or, when they asked for exactly what happened, the same result again).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from api.wallet import idempotency, store
from api.wallet.accounts import AccountBook
from api.wallet.errors import (
    AmountOutOfRange,
    HoldNotActive,
    HoldNotFound,
)
from api.wallet.fees import split
from api.wallet.idempotency import run_idempotent
from api.wallet.model import (
    AccountKind,
    HoldPurpose,
    HoldState,
    IdempotencyKey,
    Outcome,
    Posting,
    TxKind,
    array_literals,
    balanced,
)
from teezu.db import Connection

RESERVE = "hold_reserve"
EXTEND = "hold_extend"

_RESERVE = """
WITH debit AS (
    UPDATE ledger_accounts SET balance = balance - $5
    WHERE id = $4 AND balance >= $5
    RETURNING balance
), hold AS (
    INSERT INTO ledger_holds (id, owner_id, payee_id, purpose, amount, expires_at, stream_id,
        ref_id)
    SELECT $6, $1, $7, $8, $5, now() + make_interval(secs => $9::int), $10, $14 FROM debit
    RETURNING id, expires_at
), tx AS (
    INSERT INTO ledger_transactions (kind, initiator_id, hold_id, stream_id)
    SELECT 'hold_reserve', $1, $6, $10 FROM hold
    RETURNING id
), entries AS (
    INSERT INTO ledger_entries (tx_id, account_id, amount)
    SELECT tx.id, p.account_id, p.amount
    FROM tx, unnest($11::text::bigint[], $12::text::bigint[]) AS p(account_id, amount)
), outcome AS (
    SELECT CASE
        WHEN tx.id IS NOT NULL THEN jsonb_build_object('error', NULL, 'requestId', NULL,
            'data', jsonb_build_object('holdId', hold.id, 'amount', $5::bigint,
                'expiresAt', hold.expires_at, 'balance', debit.balance, 'reserveTx', tx.id))
        ELSE jsonb_build_object('error', 'INSUFFICIENT_FUNDS', 'requestId', $13::text,
            'data', jsonb_build_object('amount', $5::bigint,
                'balance', (SELECT balance FROM ledger_accounts WHERE id = $4)))
    END AS result
    FROM (SELECT 1) AS one LEFT JOIN tx ON true LEFT JOIN hold ON true LEFT JOIN debit ON true
), saved AS (
    INSERT INTO idempotency_keys (owner_id, key, operation, request_hash, result)
    SELECT $1, $2, 'hold_reserve', $3, result FROM outcome
)
SELECT result FROM outcome
"""

# Ends a hold: the state UPDATE is the exactly-once gate; the wallet gets back what is not
# captured, and the transaction moves the tokens out of escrow.
_SETTLE = """
WITH h AS (
    UPDATE ledger_holds SET state = $2, captured = $3, settled_at = now()
    WHERE id = $1 AND state = 'held' AND amount = $4
      AND CASE $2 WHEN 'expired' THEN expires_at <= now()
                  WHEN 'captured' THEN expires_at > now() ELSE true END
    RETURNING owner_id
), back AS (
    UPDATE ledger_accounts SET balance = balance + $4 - coalesce($3, 0)
    WHERE id = $5 AND $4 > coalesce($3, 0) AND EXISTS (SELECT 1 FROM h)
), tx AS (
    INSERT INTO ledger_transactions (kind, initiator_id, fee_schedule, hold_id, memo)
    SELECT $6, owner_id, $7, $1, $10::jsonb FROM h
    RETURNING id, created_at
), entries AS (
    INSERT INTO ledger_entries (tx_id, account_id, amount)
    SELECT tx.id, p.account_id, p.amount
    FROM tx, unnest($8::text::bigint[], $9::text::bigint[]) AS p(account_id, amount)
)
SELECT id FROM tx
"""


async def reserve(
    pool: asyncpg.Pool,
    book: AccountBook,
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
    """Reserve ``amount`` tokens of ``key.owner_id``'s wallet for ``ttl_seconds``.

    ``stream_id`` is the stream the hold belongs to (the kill switch releases a stream's
    holds); ``ref_id`` the row it pays for (private show, ticket show, goal).
    Success data: ``holdId``, ``expiresAt``, the wallet's new ``balance``; or the error
    ``INSUFFICIENT_FUNDS``. Idempotent per key like a tip.
    """
    if type(amount) is not int or amount <= 0:
        raise AmountOutOfRange("a hold is a positive whole number of tokens")
    if purpose is HoldPurpose.PAYOUT:
        raise ValueError("payouts reserve creator earnings: see api.wallet.payouts")
    owner = key.owner_id
    wallet = await book.of(pool, AccountKind.WALLET, owner)
    escrow = await book.system(pool, AccountKind.ESCROW)
    entries = balanced([Posting(wallet, -amount), Posting(escrow, amount)])
    params: dict[str, Any] = {
        "amount": amount,
        "purpose": purpose,
        "ttl": ttl_seconds,
        "payee": payee_id,
        "stream": stream_id,
    }
    if ref_id is not None:  # only then: keys stored before ref_id existed keep their hash
        params["ref"] = ref_id
    fingerprint = idempotency.request_hash(RESERVE, params)
    try:
        result = await pool.fetchval(
            _RESERVE,
            owner,
            key.key,
            fingerprint,
            wallet.id,
            amount,
            uuid.uuid4(),
            payee_id,
            purpose.value,
            ttl_seconds,
            stream_id,
            *array_literals(entries),
            request_id,
            ref_id,
        )
    except asyncpg.UniqueViolationError as exc:
        if not idempotency.is_key_conflict(exc):
            raise
        return await idempotency.replay(pool, key, RESERVE, fingerprint)
    return Outcome.from_json(json.loads(result), replayed=False)


async def extend(
    pool: asyncpg.Pool,
    book: AccountBook,
    key: IdempotencyKey,
    hold_id: uuid.UUID,
    *,
    amount: int,
    ttl_seconds: int,
    request_id: str | None = None,
) -> Outcome:
    """Add ``amount`` tokens to an active hold and keep it for at least ``ttl_seconds`` more."""
    if type(amount) is not int or amount <= 0:
        raise AmountOutOfRange("an extension is a positive whole number of tokens")

    async def body(conn: Connection) -> dict[str, Any]:
        row = await conn.fetchrow(
            "SELECT owner_id, state, stream_id, expires_at > now() AS running FROM ledger_holds "
            "WHERE id = $1 FOR UPDATE",
            hold_id,
        )
        if row is None or row["owner_id"] != key.owner_id:
            raise HoldNotFound("no such hold", meta={"holdId": str(hold_id)})
        if row["state"] != HoldState.HELD or not row["running"]:
            raise HoldNotActive(
                "the hold has already ended", meta={"holdId": str(hold_id), "state": row["state"]}
            )
        wallet = await book.of(conn, AccountKind.WALLET, key.owner_id)
        escrow = await book.system(conn, AccountKind.ESCROW)
        await store.post(
            conn,
            TxKind.HOLD_RESERVE,
            [Posting(wallet, -amount), Posting(escrow, amount)],
            initiator_id=key.owner_id,
            hold_id=hold_id,
            stream_id=row["stream_id"],
        )
        held = await conn.fetchrow(
            "UPDATE ledger_holds SET amount = amount + $2, "
            "expires_at = greatest(expires_at, now() + make_interval(secs => $3::int)) "
            "WHERE id = $1 RETURNING amount, expires_at",
            hold_id,
            amount,
            ttl_seconds,
        )
        assert held is not None  # the query always returns a row
        return {
            "holdId": str(hold_id),
            "amount": held["amount"],
            "expiresAt": held["expires_at"].isoformat(),
            "balance": await store.balance(conn, wallet),
        }

    fingerprint = idempotency.request_hash(
        EXTEND, {"hold": hold_id, "amount": amount, "ttl": ttl_seconds}
    )
    return await run_idempotent(pool, key, EXTEND, fingerprint, body, request_id=request_id)


async def capture(
    pool: asyncpg.Pool, book: AccountBook, hold_id: uuid.UUID, amount: int
) -> Outcome:
    """Capture ``amount`` (<= held) for the hold's payee; the rest goes back to the wallet."""
    if type(amount) is not int or amount < 0:
        raise AmountOutOfRange("a capture is a non-negative whole number of tokens")
    return await _settle(pool, book, hold_id, HoldState.CAPTURED, amount)


async def release(pool: asyncpg.Pool, book: AccountBook, hold_id: uuid.UUID) -> Outcome:
    """Give every held token back to the wallet."""
    return await _settle(pool, book, hold_id, HoldState.RELEASED, None)


async def expire_due(pool: asyncpg.Pool, book: AccountBook, *, limit: int = 500) -> int:
    """Release holds past their expiry (the ledger worker calls this); returns how many."""
    due = await pool.fetch(
        "SELECT id FROM ledger_holds WHERE state = 'held' AND expires_at <= now() "
        "ORDER BY expires_at LIMIT $1",
        limit,
    )
    done = 0
    for row in due:
        try:
            await _settle(pool, book, row["id"], HoldState.EXPIRED, None)
            done += 1
        except HoldNotActive:
            pass  # captured or released meanwhile
    return done


async def _settle(
    pool: asyncpg.Pool, book: AccountBook, hold_id: uuid.UUID, to: HoldState, captured: int | None
) -> Outcome:
    # An extension may change the amount between our read and the UPDATE (which then matches
    # no row): read again and retry; anything else that stops the UPDATE ends the hold's life.
    for _ in range(5):
        hold = await pool.fetchrow(
            "SELECT owner_id, payee_id, amount, state, captured, expires_at > now() AS running "
            "FROM ledger_holds WHERE id = $1",
            hold_id,
        )
        if hold is None:
            raise HoldNotFound("no such hold", meta={"holdId": str(hold_id)})
        if hold["state"] != HoldState.HELD:
            return await _already(pool, hold_id, hold, to, captured)
        if to is HoldState.EXPIRED and hold["running"]:
            raise HoldNotActive("the hold has not expired yet", meta={"holdId": str(hold_id)})
        if to is HoldState.CAPTURED and not hold["running"]:
            raise HoldNotActive(
                "the hold has expired", meta={"holdId": str(hold_id), "state": "expired"}
            )
        held: int = hold["amount"]
        if captured is not None and captured > held:
            raise AmountOutOfRange(
                "cannot capture more than is held", meta={"held": held, "captured": captured}
            )
        owner = hold["owner_id"]
        wallet = await book.of(pool, AccountKind.WALLET, owner)
        escrow = await book.system(pool, AccountKind.ESCROW)
        postings = [Posting(escrow, -held), Posting(wallet, held - (captured or 0))]
        schedule_version = None
        memo: dict[str, Any] = {}
        if captured:
            payee = hold["payee_id"]
            if payee is None:
                raise HoldNotActive("this hold has no payee to capture for")
            schedule = await book.current_schedule(pool)
            referrer = await book.referrer_of(pool, payee)
            shares = split(captured, schedule, referred=referrer is not None)
            postings += [
                Posting(await book.of(pool, AccountKind.EARNINGS, payee), shares.creator),
                Posting(await book.system(pool, AccountKind.PLATFORM), shares.platform),
            ]
            if referrer is not None:
                postings.append(
                    Posting(await book.of(pool, AccountKind.EARNINGS, referrer), shares.referral)
                )
            schedule_version = schedule.version
            memo = {"payee": str(payee), "referrer": str(referrer) if referrer else None}
        kind = TxKind.HOLD_CAPTURE if to is HoldState.CAPTURED else TxKind.HOLD_RELEASE
        if captured == 0:  # a capture of nothing is a release that records the capture
            kind = TxKind.HOLD_RELEASE
        entries = balanced(postings)
        tx_id = await pool.fetchval(
            _SETTLE,
            hold_id,
            to.value,
            captured,
            held,
            wallet.id,
            kind.value,
            schedule_version,
            *array_literals(entries),
            json.dumps(memo),
        )
        if tx_id is not None:
            return Outcome(
                {
                    "holdId": str(hold_id),
                    "state": to.value,
                    "amount": held,
                    "captured": captured or 0,
                    "returned": held - (captured or 0),
                    "txId": tx_id,
                }
            )
    raise HoldNotActive("the hold kept changing; try again", meta={"holdId": str(hold_id)})


async def _already(
    pool: asyncpg.Pool, hold_id: uuid.UUID, hold: Any, to: HoldState, captured: int | None
) -> Outcome:
    """A hold that has ended: the same result again if it ended the way asked, else an error."""
    same = hold["state"] == to and (to is not HoldState.CAPTURED or hold["captured"] == captured)
    if not same:
        raise HoldNotActive(
            "the hold has already ended", meta={"holdId": str(hold_id), "state": hold["state"]}
        )
    tx_id = await pool.fetchval(
        "SELECT id FROM ledger_transactions WHERE hold_id = $1 "
        "AND kind IN ('hold_capture', 'hold_release') ORDER BY id DESC LIMIT 1",
        hold_id,
    )
    return Outcome(
        {
            "holdId": str(hold_id),
            "state": to.value,
            "amount": hold["amount"],
            "captured": hold["captured"] or 0,
            "returned": hold["amount"] - (hold["captured"] or 0),
            "txId": tx_id,
        },
        replayed=True,
    )
