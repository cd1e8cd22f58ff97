"""(8) A member takes the Erotic DNA quiz, likes a suggestion who liked them (a match), and
finds a room by its vibe; at the desktop and phone sizes, every screen checked by axe."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect

from api.auth.rbac import Role
from api.matching.vibe import VIBE
from api.streams import store as streams
from tests.e2e.screens import Screens, chromium_at

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_member_takes_the_quiz_matches_and_searches_by_vibe(
    server, account, viewport: str, tmp_path_factory, console
) -> None:
    phone = viewport == "phone"
    screens = Screens("8-match", viewport, phone)
    member = await account(Role.MEMBER)
    partner = await account(Role.CREATOR)
    creator = await account(Role.CREATOR)
    # The partner answers what the member will, and already likes them.
    r = await partner.call("PUT", "/api/v1/ai/dna", json={"answers": {"asmr": 3, "massage": 3}})
    assert r.status == 200, r.body
    r = await partner.call(
        "POST", "/api/v1/match/swipe", json={"handle": member.handle, "action": "like"}
    )
    assert r.status == 200, r.body
    pest = await account(Role.MEMBER)  # blocked: never suggested
    r = await member.call("POST", f"/api/v1/users/{pest.handle}/block")
    assert r.status == 204, r.body
    title = f"Fireside cosy late night chat {uuid.uuid4().hex[:6]}"
    row, _ = await streams.create_stream(
        server.pool, title=title, creator_handle=creator.handle, creator_id=creator.id
    )
    # The mood pipeline's output for this room and the partner (the pipeline itself runs in
    # tests/integration/test_mood.py; this server has it off): the strip and the colour read it.
    await server.pool.execute(
        "INSERT INTO room_moods (stream_id, minute, mood, messages, polarity_sum, intensity_sum) "
        "VALUES ($1, date_trunc('minute', now()), 'flirty', 5, 2.5, 1.5), "
        "($1, date_trunc('minute', now()), 'calm', 2, 0.5, 0.2)",
        row.id,
    )
    await server.pool.execute(
        "INSERT INTO chat_message_moods (message_id, stream_id, user_id, mood, polarity, "
        "intensity, at) VALUES ($1, $2, $3, 'dreamy', 0.5, 0.3, now())",
        uuid.uuid4(),
        row.id,
        partner.id,
    )
    await server.app[VIBE].refresh()
    base = server.base_url

    async def menu(page: Page, name: str) -> None:
        if phone:
            await page.get_by_role("button", name="Menu").click()
            await page.get_by_role("dialog").get_by_role("link", name=name).click()
        else:
            await page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()

    async with chromium_at(tmp_path_factory.mktemp("match"), base, phone=phone) as ctx:
        await ctx.add_cookies([{"name": "session", "value": member.cookie(), "url": base}])
        page = console.watch(await ctx.new_page(), f"match-{viewport}")
        await page.goto(base + "/")
        await menu(page, "Match")
        await page.get_by_role("link", name="Take the quiz").click()
        await page.get_by_role("heading", name="Your Erotic DNA").wait_for()
        await screens.check(page, "quiz")
        for question in ("Whispers and ASMR", "Sensual massage"):
            group = page.get_by_role("group", name=question)
            await group.get_by_label("Love it").check()
        await page.get_by_label("Dutch").check()
        await page.get_by_role("button", name="Save my DNA").click()

        # Suggestions, one at a time: pass on anyone else until the partner comes up.
        card = page.get_by_test_id("suggestion")
        await card.wait_for()
        await screens.check(page, "suggestion")
        for _ in range(30):
            assert not await card.get_by_role("link", name=f"@{pest.handle}").count()
            if await card.get_by_role("link", name=f"@{partner.handle}").count():
                break
            await card.get_by_role("button", name="Pass").click()
            await page.wait_for_timeout(0)
            await expect(card.get_by_role("button", name="Pass")).to_be_enabled()
        await expect(card.get_by_role("list", name="Why this match")).to_contain_text("Calm")
        await card.get_by_role("button", name="Like").click()
        await expect(page.get_by_role("status")).to_contain_text(f"match with @{partner.handle}")
        await expect(page.get_by_test_id("matches")).to_contain_text(partner.handle)
        await screens.check(page, "matched")
        await page.get_by_role("button", name=f"Unmatch @{partner.handle}").click()
        await expect(page.get_by_text("No matches yet.")).to_be_visible()

        # Vibe search: the room by what its title means, not its words.
        await menu(page, "Vibe search")
        await page.get_by_label("Describe the vibe you are after").fill(
            "relaxed evening conversation by the fire"
        )
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_test_id("vibe-results")).to_contain_text(title)
        await screens.check(page, "vibe")

        # The room's mood strip, and the partner's profile in their recent mood's colour.
        await page.get_by_test_id("vibe-results").get_by_role("link", name=title).click()
        await expect(page.get_by_test_id("mood-now")).to_have_text("Mood now: Flirty")
        await screens.check(page, "mood-strip")
        await page.goto(f"{base}/u/{partner.handle}")
        await expect(page.get_by_test_id("profile-colour")).to_have_attribute("data-mood", "dreamy")
        assert not console.page_errors(), console.page_errors()
