"""The admin hub in Chromium, with real data: an admin sees the tips a viewer sent through the
ledger, a viewing session's stream and an overdue complaint; the page passes axe on a desktop
and a phone; a member is told the hub is for admins."""

from __future__ import annotations

import uuid

import pytest

from api.analytics.ai_activity import AI_ACTIVITY
from api.analytics.views import refresh_all
from api.auth.rbac import Role
from api.wallet.model import IdempotencyKey
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from tests.e2e.screens import Screens, chromium_at
from tests.integration.wallet.conftest import ensure_user, fund, live_stream

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_admin_sees_the_hub_with_real_data(server, account, tmp_path_factory, console):
    pool = server.pool
    ledger = server.app[LEDGER]
    admin = await account(Role.ADMIN)
    member = await account()
    creator, tipper = uuid.uuid4(), uuid.uuid4()
    await ensure_user(pool, tipper)
    await fund(ledger, tipper, 1000)
    stream = await live_stream(pool, creator)
    title = f"Hub e2e {uuid.uuid4().hex[:6]}"
    await pool.execute("UPDATE streams SET title = $2 WHERE id = $1", stream, title)
    for i in range(5):
        assert (await ledger.tip(IdempotencyKey(tipper, f"e2e-hub-{i}"), TipRequest(stream, 30))).ok
    await pool.execute(
        "INSERT INTO stream_viewers (id, stream_id, viewer_id, kind, joined_at, last_seen_at, "
        "left_at, watch_seconds) VALUES ($1, $2, $3, 'llhls', now() - interval '1 hour', now(), "
        "now(), 3600)",
        uuid.uuid4(),
        stream,
        tipper,
    )
    await pool.execute(
        "INSERT INTO reports (id, reporter_id, target_type, target_id, reason, created_at) "
        "VALUES ($1, $2, 'stream', $3, 'hub-e2e-overdue', now() - interval '9 days')",
        uuid.uuid4(),
        tipper,
        str(stream),
    )
    assert (await member.call("GET", "/api/v1/ai/dna/quiz")).status == 200  # AI activity
    signature = uuid.uuid4().hex[:24]  # an error group, as a node writes it
    await pool.execute(
        "INSERT INTO error_groups VALUES ($1, 'builtins.KeyError', 'hub-e2e-key', "
        "'api.example:handler', now(), now(), 7, ARRAY['req-e2e-1'])",
        signature,
    )
    await server.app[AI_ACTIVITY].flush(pool)
    await refresh_all(pool, wait=True)
    tips_today = await pool.fetchval(
        "SELECT sum(total) FROM hub_revenue_daily WHERE day = (now() AT TIME ZONE 'UTC')::date "
        "AND tx_kind IN ('tip', 'tip_reversal') "
        "AND account_kind IN ('earnings', 'platform', 'chargeback_reserve')"
    )
    assert tips_today >= 150
    base = server.base_url
    for phone in (False, True):
        screens = Screens("hub", "phone" if phone else "desktop", phone)
        async with chromium_at(tmp_path_factory.mktemp("hub"), base, phone=phone) as ctx:
            await ctx.add_cookies([{"name": "session", "value": admin.cookie(), "url": base}])
            page = console.watch(await ctx.new_page(), "hub")
            await page.goto(base + "/hub")
            await page.get_by_role("heading", name="Intelligence hub").wait_for(timeout=15_000)
            totals = page.get_by_test_id("hub-revenue-totals")
            await totals.get_by_text(f"{tips_today:,}".replace(",", ",")).first.wait_for(
                timeout=15_000
            )
            await page.get_by_test_id("hub-streams-table").get_by_text(title).wait_for()
            await (
                page.get_by_test_id("hub-complaints-table")
                .get_by_text("hub-e2e-overdue")
                .wait_for()
            )
            late = await page.get_by_test_id("hub-late").inner_text()
            assert int(late.split()[0]) >= 1, late
            await page.get_by_test_id("hub-ai-table").get_by_text("get_quiz").wait_for()
            errors = page.get_by_test_id("hub-errors-table")
            await errors.get_by_text("builtins.KeyError: hub-e2e-key").wait_for()
            await errors.get_by_text("req-e2e-1").wait_for()
            await page.get_by_test_id("hub-growth-chart").locator("canvas").first.wait_for()
            await screens.check(page, "hub")
            await page.get_by_test_id("hub-period").select_option("7d")
            await page.get_by_test_id("hub-streams-table").get_by_text(title).wait_for()
            await page.close()
    async with chromium_at(tmp_path_factory.mktemp("hub-member"), base, phone=False) as ctx:
        await ctx.add_cookies([{"name": "session", "value": member.cookie(), "url": base}])
        page = console.watch(await ctx.new_page(), "hub-member")
        await page.goto(base + "/hub")
        await page.get_by_text("The hub is for admins.").wait_for(timeout=15_000)
    assert not console.page_errors(), console.page_errors()
