"""Journey: an affiliate shares their link; a visitor follows it and signs up (the code filled
in from the link); the affiliate's dashboard counts the click and the sign-up. At desktop and
phone sizes, with axe and the phone's overflow check on each screen."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from api.auth.rbac import Role
from tests.e2e.screens import Screens, chromium_at

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_referral_link_to_sign_up_to_dashboard(
    server, account, viewport: str, tmp_path_factory, console
) -> None:
    phone = viewport == "phone"
    screens = Screens("affiliate", viewport, phone)
    affiliate = await account(Role.MEMBER)
    base = server.base_url
    handle = f"ref{uuid.uuid4().hex[:8]}"

    async with chromium_at(tmp_path_factory.mktemp("aff"), base, phone=phone) as ctx:
        await ctx.add_cookies([{"name": "session", "value": affiliate.cookie(), "url": base}])
        page: Page = console.watch(await ctx.new_page(), f"affiliate-{viewport}")
        await page.goto(f"{base}/affiliate")
        code = (await page.get_by_test_id("affiliate-code").text_content() or "").strip()
        assert code
        await expect(page.get_by_test_id("affiliate-link")).to_contain_text(f"/r/{code}")
        await screens.check(page, "dashboard")

        # A visitor (no session) follows the link and signs up.
        await ctx.clear_cookies()
        await page.goto(f"{base}/r/{code}")
        await page.get_by_role("heading", name="Create your account").wait_for()
        await expect(page.get_by_label("Referral code (optional)")).to_have_value(code)
        await page.get_by_label("Email").fill(f"{handle}@example.org")
        await page.get_by_label("Username").fill(handle)
        await page.get_by_label("Password").fill("a long enough password")
        await page.get_by_label("Date of birth").fill("1990-04-01")
        await screens.check(page, "signup-referred")
        await page.get_by_role("button", name="Sign up").click()
        await page.get_by_role("heading", name="Age check").wait_for()

        # Back as the affiliate: one click, one sign-up.
        await ctx.clear_cookies()
        await ctx.add_cookies([{"name": "session", "value": affiliate.cookie(), "url": base}])
        await page.goto(f"{base}/affiliate")
        totals = page.get_by_test_id("affiliate-totals")
        await expect(totals.locator("td").nth(0)).to_have_text("1")
        await expect(totals.locator("td").nth(1)).to_have_text("1")
        await screens.check(page, "dashboard-after")
    referrer = await server.pool.fetchval(
        "SELECT r.referrer_id FROM affiliate_referrals r JOIN users u ON u.id = r.referred_id "
        "WHERE u.handle = $1",
        handle,
    )
    assert referrer == affiliate.id
    assert not console.page_errors(), console.page_errors()
