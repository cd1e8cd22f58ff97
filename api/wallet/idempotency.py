"""Idempotency keys (invariant 6): a request's fingerprint and the replay of a stored result.

The key row is written by the same database statement or transaction as the effect, after
the effect: a retry running concurrently blocks on the key's unique index until the first
commits, then fails with a unique violation, which rolls its own attempt back; it then reads
the stored result here. So one key has at most one effect, and every retry of it gets the
first call's result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from api.wallet.errors import OUTCOME_ERRORS, IdempotencyKeyReused, WalletError
from api.wallet.model import IdempotencyKey, Outcome
from teezu.db import Connection, Db

MAX_KEY_LENGTH = 255


def request_hash(operation: str, params: dict[str, Any]) -> bytes:
    """A fingerprint of what was asked: the same key with another fingerprint is refused."""
    canonical = json.dumps([operation, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


async def replay(db: Db, key: IdempotencyKey, operation: str, fingerprint: bytes) -> Outcome:
    """The stored result for ``key``; `IdempotencyKeyReused` if it was for another request."""
    row = await db.fetchrow(
        "SELECT operation, request_hash, result FROM idempotency_keys "
        "WHERE owner_id = $1 AND key = $2",
        key.owner_id,
        key.key,
    )
    if row is None:  # the unique violation came from elsewhere; nothing to replay
        raise LookupError(f"idempotency key {key.key!r} has no stored result")
    if row["operation"] != operation or bytes(row["request_hash"]) != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request",
            meta={"operation": row["operation"]},
        )
    return Outcome.from_json(json.loads(row["result"]), replayed=True)


def is_key_conflict(exc: BaseException) -> bool:
    """Whether a database error is this table's unique violation (a retry of a used key)."""
    return getattr(exc, "constraint_name", None) == "idempotency_keys_pkey"


async def run_idempotent(
    pool: asyncpg.Pool,
    key: IdempotencyKey,
    operation: str,
    fingerprint: bytes,
    body: Callable[[Any], Awaitable[dict[str, Any]]],
    *,
    request_id: str | None = None,
) -> Outcome:
    """Run a multi-statement money operation once per key and store its outcome.

    ``body(conn)`` runs inside a database transaction and returns the success data; the key
    row is written last in that transaction. An error with a stored-outcome code (insufficient
    funds, …) rolls the effect back and stores the error instead, so retries replay it.
    """
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                outcome = Outcome(await body(conn))
                await _save(conn, key, operation, fingerprint, outcome)
            return outcome
        except asyncpg.UniqueViolationError as exc:
            if not is_key_conflict(exc):
                raise
            return await replay(conn, key, operation, fingerprint)
        except WalletError as exc:
            if exc.code not in OUTCOME_ERRORS:
                raise
            outcome = Outcome(dict(exc.meta), error=exc.code, request_id=request_id)
        try:
            await _save(conn, key, operation, fingerprint, outcome)
        except asyncpg.UniqueViolationError as exc:
            if not is_key_conflict(exc):
                raise
            return await replay(conn, key, operation, fingerprint)
        return outcome


async def _save(
    conn: Connection, key: IdempotencyKey, operation: str, fingerprint: bytes, outcome: Outcome
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (owner_id, key, operation, request_hash, result) "
        "VALUES ($1, $2, $3, $4, $5)",
        key.owner_id,
        key.key,
        operation,
        fingerprint,
        json.dumps(outcome.to_json()),
    )


async def expire(
    pool: asyncpg.Pool, *, ttl_hours: int, now: datetime | None = None, batch: int = 5000
) -> int:
    """Delete keys older than ``ttl_hours`` (the ledger worker and `teezu ledger expire-keys`
    call this); returns how many. A request that reuses an expired key is a new request.

    Deleted in batches so a large backlog never holds one long transaction.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=ttl_hours)
    total = 0
    while True:
        status = await pool.execute(
            "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2))",
            cutoff,
            batch,
        )
        done = int(status.split()[-1])
        total += done
        if done < batch:
            return total
