"""`teezu ledger check` (invariant 10): exit 0 on sound books, non-zero on corrupted ones.

Each case builds real books in a database of its own, then corrupts them the way a bug or a
hand-edit might, bypassing the service (and, where the database would refuse, with its
triggers disabled for that session: ``session_replication_role = replica``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from api.wallet.maturity import MaturityPolicy
from api.wallet.model import HoldPurpose, IdempotencyKey
from api.wallet.payouts import Payouts
from api.wallet.service import Ledger
from api.wallet.tips import TipRequest
from teezu.db import create_pool
from tests.integration.wallet.conftest import fresh_database, fund, live_stream

ROOT = Path(__file__).resolve().parents[3]


def ledger_check(dsn: str, command: str = "check", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "teezu.cli", "ledger", command],
        env={**os.environ, "TEEZU_DATABASE_URL": dsn, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def books(pg_dsn: str) -> tuple[str, dict[str, int]]:
    """A fresh database with a bit of everything; returns its DSN and some account ids."""
    dsn = await fresh_database(pg_dsn, "teezu_check")
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        ledger = Ledger(pool)
        viewer, creator = uuid.uuid4(), uuid.uuid4()
        stream = await live_stream(pool, creator)
        purchase = await fund(ledger, viewer, 500)
        await fund(ledger, viewer, 200)
        assert (await ledger.tip(IdempotencyKey(viewer, "t"), TipRequest(stream, 300))).ok
        held = await ledger.reserve(
            IdempotencyKey(viewer, "h"),
            amount=100,
            purpose=HoldPurpose.TICKET,
            ttl_seconds=600,
            payee_id=creator,
        )
        await ledger.capture(uuid.UUID(held.data["holdId"]), 60)
        await ledger.reserve(
            IdempotencyKey(viewer, "h2"),
            amount=50,
            purpose=HoldPurpose.PLEDGE,
            ttl_seconds=600,
            payee_id=creator,
        )
        # Payouts with no hold period: one approved (paid out, with a reserve share), one
        # pending.
        payouts = Payouts(pool, ledger.book, policy=MaturityPolicy(0, 0, 0), minimum=1)
        paid = await payouts.request(IdempotencyKey(creator, "p1"), 100)
        await payouts.approve(uuid.UUID(paid.data["payout"]["id"]), creator)
        assert (await payouts.request(IdempotencyKey(creator, "p2"), 50)).ok
        async with pool.acquire() as conn, conn.transaction():
            assert await ledger.charge_back(conn, purchase) == "applied"
        await ledger.roll_up()
        ids = {
            kind: await pool.fetchval(
                "SELECT id FROM ledger_accounts WHERE kind = $1 ORDER BY id LIMIT 1", kind
            )
            for kind in ("wallet", "earnings", "platform", "sales", "payouts_paid")
        }
        ids["purchase_tx"] = await pool.fetchval(
            "SELECT credit_tx FROM purchases WHERE id = $1", purchase
        )
        assert (await ledger.check()).ok
        return dsn, ids
    finally:
        await pool.close()


async def test_sound_books_pass(pg_dsn):
    dsn, _ = await books(pg_dsn)
    proc = ledger_check(dsn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: the books balance" in proc.stdout
    assert "books total:         0" in proc.stdout
    assert "paid out:            98 (left the system" in proc.stdout  # 100 less 2% withheld

    # `teezu ledger expire-keys` deletes only the keys older than the TTL.
    conn = await asyncpg.connect(dsn)
    try:
        keys = await conn.fetchval("SELECT count(*) FROM idempotency_keys")
        assert keys >= 5
        proc = ledger_check(dsn, "expire-keys")  # the default 24 h: all are younger
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "deleted 0 idempotency key(s) older than 24 h" in proc.stdout
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == keys
        proc = ledger_check(dsn, "expire-keys", TEEZU_IDEMPOTENCY_TTL_HOURS="0")
        assert f"deleted {keys} idempotency key(s) older than 0 h" in proc.stdout, proc.stdout
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    finally:
        await conn.close()


# Each corruption: SQL run with triggers off, and what the report must say.
CORRUPTIONS = {
    "an unbalanced transaction": (
        [
            "INSERT INTO ledger_transactions (kind) VALUES ('purchase')",
            "INSERT INTO ledger_entries (tx_id, account_id, amount) "
            "VALUES (currval(pg_get_serial_sequence('ledger_transactions', 'id')), {wallet}, 100)",
            "UPDATE ledger_accounts SET balance = balance + 100 WHERE id = {wallet}",
        ],
        ["the books sum to 100", "has 1 entries summing to 100"],
    ),
    "a deleted entry": (
        ["DELETE FROM ledger_entries WHERE tx_id = {purchase_tx} AND account_id = {sales}"],
        ["the books sum to", "has 1 entries"],
    ),
    "a wallet balance edited by hand": (
        ["UPDATE ledger_accounts SET balance = balance + 7 WHERE id = {wallet}"],
        ["but its entries sum to"],
    ),
    "balanced entries that mint tokens": (
        [
            "INSERT INTO ledger_transactions (kind) VALUES ('hold_release')",
            "INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES "
            "(currval(pg_get_serial_sequence('ledger_transactions', 'id')), {wallet}, 25), "
            "(currval(pg_get_serial_sequence('ledger_transactions', 'id')), {platform}, -25)",
            "UPDATE ledger_accounts SET balance = balance + 25 WHERE id = {wallet}",
        ],
        ["tokens outstanding", "difference 25"],
    ),
    "a roll-up edited by hand": (
        ["UPDATE ledger_rollups SET balance = balance - 1 WHERE account_id = {earnings}"],
        ["roll-up of account"],
    ),
    "payouts that disagree with the ledger": (
        [
            "UPDATE payouts SET amount = amount + 1 WHERE state = 'pending'",
            "INSERT INTO ledger_transactions (kind) VALUES ('payout_capture')",
            "INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES "
            "(currval(pg_get_serial_sequence('ledger_transactions', 'id')), {earnings}, -5), "
            "(currval(pg_get_serial_sequence('ledger_transactions', 'id')), {payouts_paid}, 5)",
        ],
        [
            "payouts_pending holds 50 tokens but pending payouts total 51",
            "payouts_paid holds 103 tokens but approved payouts",
        ],
    ),
    "a purchase whose tokens were changed": (
        ["UPDATE purchases SET tokens = tokens + 1 WHERE credit_tx = {purchase_tx}"],
        ["purchases credited"],
    ),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
async def test_corrupted_books_fail_the_check(pg_dsn, case):
    dsn, ids = await books(pg_dsn)
    statements, expected = CORRUPTIONS[case]
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for sql in statements:
                await conn.execute(sql.format(**ids))
    finally:
        await conn.close()
    proc = ledger_check(dsn)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PROBLEM:" in proc.stdout and "OK: the books balance" not in proc.stdout
    for text in expected:
        assert text in proc.stdout, (text, proc.stdout)
