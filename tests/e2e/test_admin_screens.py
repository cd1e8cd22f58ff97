"""The admin console's users and money tabs and a member's "decisions about me", in Chromium
with real data, on a desktop and a phone (axe and the 360 px overflow check per screen): an
admin finds a seeded account and grants it a role (the server's roles change), sees the fee
schedule in force, and stops a stream's billing (a real hold goes back to its viewer); the
member sees the warning a moderator gave them, with its ground, and starts an appeal."""

from __future__ import annotations

import uuid

import pytest

from api.auth.rbac import Role
from api.reports import store as reports
from api.streams import store as streams
from api.users import store as users
from api.wallet.model import HoldPurpose, IdempotencyKey
from api.wallet.service import LEDGER
from tests.e2e.screens import Screens, chromium_at
from tests.integration.wallet.conftest import fund

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_admin_users_money_and_my_decisions(server, account, tmp_path_factory, console):
    pool, ledger, base = server.pool, server.app[LEDGER], server.base_url
    admin = await account(Role.ADMIN)
    moderator = await account(Role.MODERATOR)
    member = await account()
    current = await pool.fetchval(
        "SELECT version FROM ledger_fee_schedules WHERE effective_from <= now() "
        "ORDER BY effective_from DESC LIMIT 1"
    )
    report = await reports.create_report(
        pool, admin.id, "user", str(member.id), member.id, "harassment", ""
    )
    warned = await moderator.call(
        "POST", f"/api/v1/moderation/reports/{report.id}/actions", json={"action": "warn"}
    )
    assert warned.status == 200, warned.body
    for phone in (False, True):
        screens = Screens("admin-console", "phone" if phone else "desktop", phone)
        target = await account(login=False)
        stream, _ = await streams.create_stream(
            pool, title="Kill e2e", creator_handle=target.handle, creator_id=target.id
        )
        viewer = uuid.uuid4()
        await fund(ledger, viewer, 40)
        held = await ledger.reserve(
            IdempotencyKey(viewer, uuid.uuid4().hex),
            amount=40,
            purpose=HoldPurpose.PLEDGE,
            ttl_seconds=600,
            stream_id=stream.id,
        )
        assert held.ok, held
        async with chromium_at(tmp_path_factory.mktemp("adm"), base, phone=phone) as ctx:
            await ctx.add_cookies([{"name": "session", "value": admin.cookie(), "url": base}])
            page = console.watch(await ctx.new_page(), "admin-console")
            await page.goto(base + "/admin")
            await page.get_by_role("tab", name="Users").click()
            await page.get_by_label("Search (username, name or exact email)").fill(target.handle)
            await page.get_by_role("button", name="Filter").click()
            row = page.get_by_test_id("admin-user").filter(has_text=f"@{target.handle}")
            await row.wait_for(timeout=15_000)
            await screens.check(page, "users")
            await row.get_by_label("Role to grant").select_option("creator")
            await row.get_by_role("button", name="Grant").click()
            await row.get_by_role("button", name=f"Revoke creator from @{target.handle}").wait_for()
            after = await users.get_by_id(pool, target.id)
            assert after is not None and Role.CREATOR in after.roles

            await page.get_by_role("tab", name="Money").click()
            fees = page.get_by_test_id("fee-schedules")
            await fees.get_by_text(f"{current} · in force").wait_for(timeout=15_000)
            await page.get_by_label("Stream id").fill(str(stream.id))
            await page.get_by_label("Reason (for the record)").fill("e2e incident")
            await page.get_by_role("button", name="Stop billing").click()
            await page.get_by_role("button", name="Confirm: stop billing now").click()
            await (
                page.get_by_test_id("kill-result")
                .get_by_text("1 holds settled: 40 tokens back to viewers")
                .wait_for(timeout=15_000)
            )
            await screens.check(page, "money")
            assert (await ledger.wallet(viewer)).balance == 40
            await page.close()
        async with chromium_at(tmp_path_factory.mktemp("me"), base, phone=phone) as ctx:
            await ctx.add_cookies([{"name": "session", "value": member.cookie(), "url": base}])
            page = console.watch(await ctx.new_page(), "my-decisions")
            await page.goto(base + "/account")
            mine = page.get_by_test_id("my-decisions")
            await mine.get_by_text("Ground: harassment").wait_for(timeout=15_000)
            await mine.get_by_text("Warning").wait_for()
            await screens.check(page, "decisions")
            await mine.get_by_role("button", name="Appeal this decision").click()
            assert await page.get_by_label("Decision reference").input_value() == str(report.id)
            await page.close()
    assert not console.page_errors(), console.page_errors()
