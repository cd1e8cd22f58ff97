"""The commerce journey in Chromium at desktop and phone sizes: a provider publishes a service
and opens a time in their zone; a member joins the Plus tier, books that time from the
service's calendar (the price is held), and the provider accepts it from their bookings. Every
screen is checked by axe and, on the phone, for overflow."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from api.auth.rbac import Role
from api.wallet.service import LEDGER
from tests.e2e.screens import Screens, chromium_at
from tests.integration.wallet.conftest import fund

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_member_joins_a_tier_and_books_a_provider(
    server, account, viewport: str, tmp_path_factory, console
) -> None:
    phone = viewport == "phone"
    screens = Screens("8-commerce", viewport, phone)
    provider = await account(Role.PROVIDER)
    member = await account(Role.MEMBER)
    await fund(server.app[LEDGER], member.id, 1000)
    base = server.base_url
    title = f"Tarot {uuid.uuid4().hex[:6]}"
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()

    async with chromium_at(tmp_path_factory.mktemp("commerce-p"), base, phone=phone) as ctx:
        await ctx.add_cookies([{"name": "session", "value": provider.cookie(), "url": base}])
        page: Page = console.watch(await ctx.new_page(), f"provider-{viewport}")
        await page.goto(f"{base}/services")
        form = page.get_by_role("form", name="Publish a service")
        await form.get_by_label("Title").fill(title)
        await form.get_by_label("Time zone").fill("Europe/Amsterdam")
        await form.get_by_label("Pricing tier").fill("Half hour")
        await form.get_by_label("Price (tokens)").fill("40")
        await form.get_by_role("button", name="Publish").click()
        await page.get_by_role("link", name=re.compile(title)).click()
        await page.get_by_role("heading", name=title).wait_for()
        slot_form = page.get_by_role("form", name="Add a time")
        await slot_form.get_by_label("Start (Europe/Amsterdam)").fill(f"{day}T15:00")
        await slot_form.get_by_role("button", name="Add a time").click()
        await expect(page.get_by_role("button", name=re.compile(r"^15:00"))).to_be_visible()
        await screens.check(page, "provider-service")
        service_url = page.url

    async with chromium_at(tmp_path_factory.mktemp("commerce-m"), base, phone=phone) as ctx:
        await ctx.add_cookies([{"name": "session", "value": member.cookie(), "url": base}])
        page = console.watch(await ctx.new_page(), f"member-{viewport}")
        await page.goto(f"{base}/wallet")
        await page.get_by_role("link", name="Membership").click()
        plus = page.locator("[data-plan=plus]")
        await plus.get_by_role("button", name="Join Plus").click()
        await expect(plus.get_by_text("✓ plus")).to_be_visible()
        await screens.check(page, "membership")
        mine = await member.call("GET", "/api/v1/memberships")
        assert mine.data["unlocked"]["plans"] == ["plus"]

        await page.goto(service_url)
        await expect(page.get_by_test_id("policy")).to_contain_text("24 h before")
        await page.get_by_role("button", name=re.compile(r"^15:00")).click()
        await page.get_by_role("button", name="Book", exact=True).click()
        await expect(page.get_by_role("status")).to_contain_text("40 tokens held")
        await screens.check(page, "booked")
        bookings = await member.call("GET", "/api/v1/bookings")
        [booking] = [b for b in bookings.data if b["serviceTitle"] == title]
        assert booking["state"] == "requested" and booking["startsLocal"].startswith(f"{day}T15:00")
        balance = await member.call("GET", "/api/v1/wallet/balance")
        assert balance.data["balance"] == 1000 - 150 - 40

    async with chromium_at(tmp_path_factory.mktemp("commerce-a"), base, phone=phone) as ctx:
        await ctx.add_cookies([{"name": "session", "value": provider.cookie(), "url": base}])
        page = console.watch(await ctx.new_page(), f"provider-bookings-{viewport}")
        await page.goto(f"{base}/bookings")
        await page.get_by_role("tab", name="My clients").click()
        row = page.locator(f"[data-booking='{booking['id']}']")
        await row.get_by_role("button", name="Accept").click()
        await expect(row).to_have_attribute("data-state", "accepted")
        await screens.check(page, "provider-bookings")
