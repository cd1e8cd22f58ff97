"""A new fee schedule applies to money moved from its start on, at that instant (the cache of
the schedule in force expires then, not after its usual TTL), and the ledger's earlier
transactions keep the schedule they used. On a database of its own: a schedule cannot be
deleted (append-only), and the shared ledger's tests expect the default one."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.wallet.model import IdempotencyKey
from api.wallet.service import Ledger
from api.wallet.tips import TipRequest
from teezu.db import create_pool
from tests.integration.wallet.conftest import fresh_database, fund, live_stream

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_scheduled_fee_applies_from_its_start_and_never_retroactively(pg_dsn):
    pool = await create_pool(await fresh_database(pg_dsn, "teezu_fees"), min_size=1, max_size=4)
    ledger = Ledger(pool)
    try:
        viewer, creator = uuid.uuid4(), uuid.uuid4()
        await fund(ledger, viewer, 1000)
        stream = await live_stream(pool, creator)

        async def tip() -> tuple[str, dict[str, int]]:
            out = await ledger.tip(
                IdempotencyKey(viewer, uuid.uuid4().hex), TipRequest(stream, 100)
            )
            assert out.ok, out
            version = await pool.fetchval(
                "SELECT fee_schedule FROM ledger_transactions WHERE id = $1", out.data["tipId"]
            )
            return version, out.data["split"]

        before = await tip()  # the schedule in force is cached from here on
        assert before == ("2026-12", {"creator": 80, "platform": 20, "referral": 0})
        # Written directly (the API asks a minute's lead; the switch is what is tested here).
        starts = await pool.fetchval(
            "INSERT INTO ledger_fee_schedules (version, creator_bps, platform_bps, referral_bps, "
            "effective_from, platform_rounding) VALUES ('t-switch', 7000, 3000, 500, "
            "now() + interval '1.5 seconds', 'ceil') RETURNING effective_from"
        )
        # Re-read so the cache learns of the next change (a node re-reads within its TTL).
        ledger.book._current = None
        assert await tip() == before
        while await pool.fetchval("SELECT now() < $1", starts):
            await asyncio.sleep(0.1)
        after = await tip()
        assert after == ("t-switch", {"creator": 70, "platform": 30, "referral": 0})
        versions = await pool.fetch(
            "SELECT fee_schedule, count(*) FROM ledger_transactions WHERE kind = 'tip' "
            "GROUP BY 1 ORDER BY 1"
        )
        assert [tuple(r) for r in versions] == [("2026-12", 2), ("t-switch", 1)]
        assert (await ledger.check()).ok
    finally:
        await ledger.close()
        await pool.close()
