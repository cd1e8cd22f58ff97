"""Roll-ups of derived balances, so a hot account's balance stays cheap to read.

A creator receiving thousands of tips a second has no balance row to update (that row lock
would serialize every tip); their balance is the sum of their entries. To keep that sum
short, `roll_up` periodically folds finished entries into ``ledger_rollups``: a balance
through a horizon xid, after which `api.wallet.store.balance` adds only newer entries.

The horizon is the xmin of the roll-up statement's snapshot: every transaction with a lower
xid has finished, so no entry can later appear below it. (Entry ids or timestamps would not
do: they are taken before commit, so a slow transaction could commit an entry "in the past".)
"""

from __future__ import annotations

import asyncpg

# One roll-up at a time (two concurrent ones would both add the same entries).
_LOCK = 0x7465657A7502

_ROLL_UP = """
WITH horizon AS (
    SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xid
), moved AS (
    SELECT a.id AS account_id, coalesce(r.through_xid, '0'::xid8) AS since,
        (SELECT sum(e.amount) FROM ledger_entries e
         WHERE e.account_id = a.id AND e.xid >= coalesce(r.through_xid, '0'::xid8)
           AND e.xid < (SELECT xid FROM horizon)) AS amount
    FROM ledger_accounts a LEFT JOIN ledger_rollups r ON r.account_id = a.id
    WHERE a.balance IS NULL
)
INSERT INTO ledger_rollups AS r (account_id, balance, through_xid)
SELECT account_id, amount, (SELECT xid FROM horizon) FROM moved WHERE amount IS NOT NULL
ON CONFLICT (account_id) DO UPDATE
    SET balance = r.balance + EXCLUDED.balance, through_xid = EXCLUDED.through_xid,
        updated_at = now()
"""


async def roll_up(pool: asyncpg.Pool) -> int:
    """Fold every finished entry of the derived accounts into their roll-ups; returns how
    many accounts were rolled up."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
        status = await conn.execute(_ROLL_UP)
    return int(status.split()[-1])
