"""Group commit for tips: concurrent tips share one statement and one database commit.

Every tip is still its own ledger transaction with its own entries, its own stored outcome
and its own idempotency key; only the database transaction (the commit and its WAL flush,
the round trip, the statement's fixed cost) is shared. Under load the cost per tip falls to
what its rows cost; with one tip at a time nothing waits (a lone tip takes the single-tip
statement at once).

How a batch forms: a tip waits only while ``max_inflight`` batches are already running;
whatever queued meanwhile goes out together as the next batch (no timer, so no added latency
when the database keeps up). A batch never holds two tips of one viewer, and a viewer is never
in two running batches: the statement debits each wallet row once (an ``UPDATE … FROM`` can
update a row only once per statement), and two batches never wait for each other's wallets.

Isolation: the batch statement is all or nothing. If it fails as a whole (an idempotency key
used concurrently by another node, a deadlock with another node's batch, any database error),
every tip of it is run again alone with `api.wallet.tips.execute`, which replays a used key
or refuses just that tip: one tip's trouble never becomes another's. A refusal that is an
outcome (insufficient funds, stream not live, stream frozen: the kill switch) is per tip
inside the statement and stored with its key, exactly as alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from typing import Any

import asyncpg

from api.wallet.model import Outcome
from api.wallet.streams import FROZEN_CREATOR
from api.wallet.tips import PreparedTip, execute

log = logging.getLogger(__name__)

# Per tip: $1 viewer … $10 menu item (one array element each, in request order 1..n);
# entries flattened: $11 the tip's number, $12 account, $13 amount; $14 the fee schedule.
# Viewers are distinct within a batch, so a ledger transaction maps back to its tip by its
# initiator (the INSERT's RETURNING cannot return the request's number).
_BATCH = f"""
WITH req AS MATERIALIZED (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bigint[], $5::bigint[],
                         $6::uuid[], $7::text[], $8::text[], $9::text[], $10::uuid[])
        WITH ORDINALITY AS r(viewer, key, fp, wallet, amount, stream, receipt, request_id,
                             memo, menu_item, i)
), st AS MATERIALIZED (
    SELECT r.i, s.state,
        (coalesce(f.frozen, false) OR {FROZEN_CREATOR.format(creator="s.creator_id")})
            AS frozen,
        (SELECT g.id FROM stream_goals g WHERE g.stream_id = r.stream AND g.state = 'open'
            AND g.mode = 'tips')
            AS goal_id
    FROM req r LEFT JOIN streams s ON s.id = r.stream
    LEFT JOIN stream_safety f ON f.stream_id = r.stream
), debit AS (
    UPDATE ledger_accounts a SET balance = a.balance - r.amount
    FROM req r JOIN st ON st.i = r.i
    WHERE a.id = r.wallet AND a.balance >= r.amount AND st.state = 'live' AND NOT st.frozen
    RETURNING r.i, a.balance
), tx AS (
    INSERT INTO ledger_transactions
        (kind, initiator_id, fee_schedule, stream_id, memo, goal_id, menu_item_id)
    SELECT 'tip', r.viewer, $14, r.stream, r.memo::jsonb, st.goal_id, r.menu_item
    FROM debit d JOIN req r ON r.i = d.i JOIN st ON st.i = d.i
    RETURNING id, initiator_id, created_at, goal_id
), entries AS (
    INSERT INTO ledger_entries (tx_id, account_id, amount)
    SELECT tx.id, e.account, e.amount
    FROM tx JOIN req r ON r.viewer = tx.initiator_id
    JOIN unnest($11::bigint[], $12::bigint[], $13::bigint[]) AS e(i, account, amount)
        ON e.i = r.i
), outcome AS (
    SELECT r.i, r.viewer, r.key, r.fp, CASE
        WHEN tx.id IS NOT NULL THEN jsonb_build_object(
            'error', NULL, 'requestId', NULL, 'data', r.receipt::jsonb || jsonb_build_object(
                'tipId', tx.id, 'balance', d.balance, 'createdAt', tx.created_at,
                'goalId', tx.goal_id))
        WHEN st.state IS DISTINCT FROM 'live' THEN jsonb_build_object(
            'error', 'STREAM_NOT_LIVE', 'requestId', r.request_id,
            'data', jsonb_build_object('streamId', r.stream))
        WHEN st.frozen THEN jsonb_build_object(
            'error', 'STREAM_FROZEN', 'requestId', r.request_id,
            'data', jsonb_build_object('streamId', r.stream))
        ELSE jsonb_build_object(
            'error', 'INSUFFICIENT_FUNDS', 'requestId', r.request_id,
            'data', jsonb_build_object('amount', r.amount,
                'balance', (SELECT balance FROM ledger_accounts WHERE id = r.wallet)))
    END AS result
    FROM req r JOIN st ON st.i = r.i
    LEFT JOIN debit d ON d.i = r.i LEFT JOIN tx ON tx.initiator_id = r.viewer
), saved AS (
    INSERT INTO idempotency_keys (owner_id, key, operation, request_hash, result)
    SELECT viewer, key, 'tip', fp, result FROM outcome
)
SELECT i, result FROM outcome
"""


def batch_arguments(batch: list[PreparedTip]) -> tuple[Any, ...]:
    """The batch statement's parameters for ``batch`` (pure; all tips share a fee schedule)."""
    entry_tip: list[int] = []
    entry_account: list[int] = []
    entry_amount: list[int] = []
    for i, tip in enumerate(batch, start=1):
        for posting in tip.entries:
            entry_tip.append(i)
            entry_account.append(posting.account.id)
            entry_amount.append(posting.amount)
    return (
        [t.key.owner_id for t in batch],
        [t.key.key for t in batch],
        [t.fingerprint for t in batch],
        [t.wallet_id for t in batch],
        [t.amount for t in batch],
        [t.stream_id for t in batch],
        [t.receipt for t in batch],
        [t.request_id for t in batch],
        [t.memo for t in batch],
        [t.menu_item_id for t in batch],
        entry_tip,
        entry_account,
        entry_amount,
        batch[0].fee_schedule,
    )


def take_batch(
    queue: deque[tuple[PreparedTip, asyncio.Future[Outcome]]],
    busy: set[uuid.UUID],
    max_size: int,
) -> list[tuple[PreparedTip, asyncio.Future[Outcome]]]:
    """Remove and return up to ``max_size`` queued tips, oldest first, of distinct viewers not
    in ``busy`` and under one fee schedule; the others stay queued in order (pure)."""
    taken: list[tuple[PreparedTip, asyncio.Future[Outcome]]] = []
    kept: list[tuple[PreparedTip, asyncio.Future[Outcome]]] = []
    viewers: set[uuid.UUID] = set()
    schedule: str | None = None
    while queue and len(taken) < max_size:
        item = queue.popleft()
        tip = item[0]
        viewer = tip.key.owner_id
        if viewer in busy or viewer in viewers or schedule not in (None, tip.fee_schedule):
            kept.append(item)
            continue
        viewers.add(viewer)
        schedule = tip.fee_schedule
        taken.append(item)
    queue.extendleft(reversed(kept))
    return taken


class TipBatcher:
    """Commits concurrent tips together (see the module docstring). One per process.

    ``max_inflight`` batches run at once, each on its own pooled connection; keep it below the
    pool's size so other work still gets connections.
    """

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 64, max_inflight: int = 4) -> None:
        self.pool = pool
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self._queue: deque[tuple[PreparedTip, asyncio.Future[Outcome]]] = deque()
        self._busy: set[uuid.UUID] = set()  # viewers with a tip in a running batch
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0  # statistics, for the benchmark
        self.batched_tips = 0
        self.fallbacks = 0
        self.batch_sizes: dict[int, int] = {}  # batch size -> batches committed (/metrics)

    async def submit(self, tip: PreparedTip) -> Outcome:
        """Commit ``tip`` (alone or with others) and return its outcome, as `execute` would."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((tip, future))
        self._dispatch()
        # Shielded: a caller that goes away does not take its tip out of a running batch;
        # the outcome is stored with its key either way.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Wait for the running batches (queued tips are dispatched as batches finish)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.max_inflight:
            batch = take_batch(self._queue, self._busy, self.max_batch)
            if not batch:
                return  # every queued tip waits for its viewer's running batch
            for tip, _ in batch:
                self._busy.add(tip.key.owner_id)
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._dispatch()

    async def _run(self, batch: list[tuple[PreparedTip, asyncio.Future[Outcome]]]) -> None:
        try:
            if len(batch) == 1:
                await _settle(batch[0], execute(self.pool, batch[0][0]))
                return
            try:
                rows = await self.pool.fetch(_BATCH, *batch_arguments([t for t, _ in batch]))
            except asyncpg.PostgresError as exc:
                # All or nothing: nothing of this batch was committed. Each tip alone.
                self.fallbacks += 1
                log.info("tip batch of %d failed (%s); committing each alone", len(batch), exc)
                await asyncio.gather(
                    *(_settle(item, execute(self.pool, item[0])) for item in batch)
                )
                return
            self.batches += 1
            self.batched_tips += len(batch)
            self.batch_sizes[len(batch)] = self.batch_sizes.get(len(batch), 0) + 1
            for row in rows:
                _, future = batch[row["i"] - 1]
                if not future.done():
                    future.set_result(Outcome.from_json(json.loads(row["result"]), replayed=False))
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            for tip, _ in batch:
                self._busy.discard(tip.key.owner_id)


async def _settle(item: tuple[PreparedTip, asyncio.Future[Outcome]], work: Any) -> None:
    future = item[1]
    try:
        outcome = await work
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(outcome)
