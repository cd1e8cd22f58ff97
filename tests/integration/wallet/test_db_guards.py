"""The database itself refuses what the ledger forbids, whoever writes the SQL (invariants 2,
3 and 5): unbalanced transactions, edits and deletions of entries, entries added to a
committed transaction, unknown accounts, forged xids, negative wallets, deleted accounts."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from api.wallet.model import AccountKind
from tests.integration.wallet.conftest import fund


async def _accounts(ledger):
    viewer = uuid.uuid4()
    await fund(ledger, viewer, 100)
    wallet = await ledger.book.of(ledger.pool, AccountKind.WALLET, viewer)
    sales = await ledger.book.system(ledger.pool, AccountKind.SALES)
    return wallet.id, sales.id


async def _post(conn, entries: list[tuple[int, int]], kind: str = "purchase") -> int:
    tx = await conn.fetchval(
        "INSERT INTO ledger_transactions (kind) VALUES ($1) RETURNING id", kind
    )
    for account, amount in entries:
        await conn.execute(
            "INSERT INTO ledger_entries (tx_id, account_id, amount) VALUES ($1, $2, $3)",
            tx,
            account,
            amount,
        )
    return tx


async def _count(pool) -> tuple[int, int]:
    return (
        await pool.fetchval("SELECT count(*) FROM ledger_transactions"),
        await pool.fetchval("SELECT count(*) FROM ledger_entries"),
    )


@pytest.mark.parametrize(
    "shape",
    [
        "no entries",
        "one entry",
        "debits exceed credits",
        "credits exceed debits",
    ],
)
async def test_an_unbalanced_transaction_does_not_commit(ledger, shape):
    wallet, sales = await _accounts(ledger)
    entries = {
        "no entries": [],
        "one entry": [(sales, -5)],
        "debits exceed credits": [(sales, -5), (wallet, 4)],
        "credits exceed debits": [(sales, -5), (wallet, 6)],
    }[shape]
    before = await _count(ledger.pool)
    async with ledger.pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="unbalanced"):
            async with conn.transaction():
                await _post(conn, entries)
    assert await _count(ledger.pool) == before


async def test_a_balanced_transaction_commits(ledger):
    platform = await ledger.book.system(ledger.pool, AccountKind.PLATFORM)
    reserve = await ledger.book.system(ledger.pool, AccountKind.CHARGEBACK_RESERVE)
    # Two system accounts, there and back: the books end as they were found.
    async with ledger.pool.acquire() as conn, conn.transaction():
        there = await _post(conn, [(platform.id, -3), (reserve.id, 3)])
        back = await _post(conn, [(platform.id, 3), (reserve.id, -3)])
    rows = await ledger.pool.fetch(
        "SELECT tx_id, sum(amount) AS total, count(*) AS n FROM ledger_entries "
        "WHERE tx_id = ANY($1::bigint[]) GROUP BY tx_id",
        [there, back],
    )
    assert sorted((r["n"], r["total"]) for r in rows) == [(2, 0), (2, 0)]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entries SET amount = amount + 1 WHERE tx_id = $1",
        "UPDATE ledger_entries SET account_id = account_id WHERE tx_id = $1",
        "DELETE FROM ledger_entries WHERE tx_id = $1",
        "UPDATE ledger_transactions SET memo = '{\"x\": 1}' WHERE id = $1",
        "DELETE FROM ledger_transactions WHERE id = $1",
    ],
)
async def test_entries_and_transactions_cannot_be_changed_or_deleted(ledger, sql):
    viewer = uuid.uuid4()
    purchase = await fund(ledger, viewer, 50)
    tx = await ledger.pool.fetchval("SELECT credit_tx FROM purchases WHERE id = $1", purchase)
    before = await ledger.pool.fetch(
        "SELECT account_id, amount FROM ledger_entries WHERE tx_id = $1 ORDER BY account_id", tx
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await ledger.pool.execute(sql, tx)
    after = await ledger.pool.fetch(
        "SELECT account_id, amount FROM ledger_entries WHERE tx_id = $1 ORDER BY account_id", tx
    )
    assert after == before and len(after) == 2


@pytest.mark.parametrize("table", ["ledger_entries", "ledger_transactions", "ledger_accounts"])
async def test_ledger_tables_cannot_be_truncated(ledger, table):
    await _accounts(ledger)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await ledger.pool.execute(f"TRUNCATE {table} CASCADE")
    assert await ledger.pool.fetchval(f"SELECT count(*) FROM {table}") > 0


async def test_a_committed_transaction_cannot_gain_entries(ledger):
    """Balancing an old transaction after the fact (or unbalancing it) is refused."""
    viewer = uuid.uuid4()
    purchase = await fund(ledger, viewer, 50)
    tx = await ledger.pool.fetchval("SELECT credit_tx FROM purchases WHERE id = $1", purchase)
    platform = await ledger.book.system(ledger.pool, AccountKind.PLATFORM)
    reserve = await ledger.book.system(ledger.pool, AccountKind.CHARGEBACK_RESERVE)
    async with ledger.pool.acquire() as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="ledger_entries_tx_id_xid_fkey"):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO ledger_entries (tx_id, account_id, amount) "
                    "VALUES ($1, $2, 7), ($1, $3, -7)",
                    tx,
                    platform.id,
                    reserve.id,
                )
    assert (
        await ledger.pool.fetchval("SELECT count(*) FROM ledger_entries WHERE tx_id = $1", tx) == 2
    )


async def test_a_transaction_cannot_claim_another_xid(ledger):
    """Forging created_xid (to let a later database transaction add entries) is refused."""
    platform = await ledger.book.system(ledger.pool, AccountKind.PLATFORM)
    reserve = await ledger.book.system(ledger.pool, AccountKind.CHARGEBACK_RESERVE)
    async with ledger.pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="another database transaction"):
            async with conn.transaction():
                tx = await conn.fetchval(
                    "INSERT INTO ledger_transactions (kind, created_xid) "
                    "VALUES ('purchase', '12345') RETURNING id"
                )
                await conn.execute(
                    "INSERT INTO ledger_entries (tx_id, account_id, amount, xid) "
                    "VALUES ($1, $2, 7, '12345'), ($1, $3, -7, '12345')",
                    tx,
                    platform.id,
                    reserve.id,
                )


async def test_entries_must_name_an_existing_account(ledger):
    wallet, sales = await _accounts(ledger)
    async with ledger.pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="do not exist"):
            async with conn.transaction():
                await _post(conn, [(sales, -5), (10**12, 5)])


async def test_a_wallet_balance_cannot_go_negative_even_by_hand(ledger):
    wallet, _ = await _accounts(ledger)
    with pytest.raises(asyncpg.CheckViolationError):
        await ledger.pool.execute(
            "UPDATE ledger_accounts SET balance = balance - 101 WHERE id = $1", wallet
        )
    assert (
        await ledger.pool.fetchval("SELECT balance FROM ledger_accounts WHERE id = $1", wallet)
        == 100
    )


async def test_accounts_are_never_deleted_or_reassigned(ledger):
    wallet, _ = await _accounts(ledger)
    for sql in (
        "DELETE FROM ledger_accounts WHERE id = $1",
        "UPDATE ledger_accounts SET owner_id = gen_random_uuid() WHERE id = $1",
        "UPDATE ledger_accounts SET kind = 'earnings', balance = NULL WHERE id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ledger.pool.execute(sql, wallet)
    assert await ledger.pool.fetchval("SELECT kind FROM ledger_accounts WHERE id = $1", wallet) == (
        "wallet"
    )
