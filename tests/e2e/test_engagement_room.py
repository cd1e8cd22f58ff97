"""The room's engagement screens in real Chromium: the watch room's mood strip (desktop and
phone) and the studio's mood view, fed by Python Socket.IO voters; axe-clean, no overflow."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.auth.rbac import Role
from api.auth.sessions import COOKIE
from api.engagement import events
from api.streams import store
from api.wallet.service import LEDGER
from tests.chatauth import sign_in
from tests.e2e.screens import DESKTOP, PHONE, Screens
from tests.integration.chat.conftest import chat_server, connect  # noqa: F401 - fixtures
from tests.integration.wallet.conftest import fund

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_mood_strip_in_the_watch_room_and_the_studio(
    chat_server,  # noqa: F811
    connect,  # noqa: F811
    browser,
    console,
    viewport,
):
    base = chat_server.base_url
    creator = await sign_in(chat_server, Role.CREATOR, prefix="moodpage")
    row, _ = await store.create_stream(
        chat_server.pool,
        title="Mood room",
        creator_handle=creator.handle,
        creator_id=creator.user_id,
    )
    room = str(row.id)
    voters = [await connect(await sign_in(chat_server, prefix="moodpage")) for _ in range(3)]
    for v in voters:
        assert (await v.join(room))["ok"]
    for v, mood in zip(voters, ["playful", "playful", "calm"], strict=True):
        assert (await v.call(events.MOOD_VOTE, {"streamId": room, "mood": mood}))["ok"]

    phone = viewport == "phone"
    screens = Screens("7-mood", viewport, phone)
    member = await sign_in(chat_server, prefix="moodpage")
    await browser.add_cookies([{"name": COOKIE, "value": member.session, "url": base}])
    try:
        page = console.watch(await browser.new_page(), "member")
        await page.set_viewport_size(PHONE if phone else DESKTOP)
        await page.goto(f"{base}/watch/{room}")
        strip = page.get_by_test_id("mood-strip")
        # the strip as it was when the page joined (mood:get)
        await strip.get_by_role("img", name="Calm 33%, Playful 67%").wait_for()
        # a vote from the page reaches a Python client in the room
        await strip.get_by_role("button", name="Dreamy 0%").click()
        await voters[0].wait_for(
            lambda: (s := voters[0].received[events.MOOD_DISTRIBUTION]) and s[-1]["total"] == 4,
            what="the page's vote",
        )
        await strip.get_by_role("button", name="Dreamy 25%", pressed=True).wait_for()
        # a second vote at once is refused, and the page says so
        await strip.get_by_role("button", name="Calm 25%").click()
        await strip.get_by_role("status").filter(has_text="RATE_LIMITED").wait_for()
        await screens.check(page, "watch-mood-strip")
    finally:
        await browser.clear_cookies()

    # the studio shows the room's mood live, and the minutes written so far
    await browser.add_cookies([{"name": COOKIE, "value": creator.session, "url": base}])
    try:
        studio = console.watch(await browser.new_page(), "creator")
        await studio.set_viewport_size(PHONE if phone else DESKTOP)
        await studio.goto(f"{base}/studio/{room}")
        view = studio.get_by_test_id("studio-moods")
        await view.get_by_role("img", name="Calm 25%, Playful 50%, Dreamy 25%").wait_for()
        await asyncio.sleep(0.6)  # the member's vote interval passed
        late = await connect(await sign_in(chat_server, prefix="moodpage"))
        assert (await late.join(room))["ok"]
        assert (await late.call(events.MOOD_VOTE, {"streamId": room, "mood": "dreamy"}))["ok"]
        await view.get_by_role("img", name="Calm 20%, Playful 40%, Dreamy 40%").wait_for()
        await screens.check(studio, "studio-mood-view")
    finally:
        await browser.clear_cookies()
    assert not console.page_errors(), console.page_errors()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_a_poll_from_the_studio_to_the_watch_room(
    chat_server,  # noqa: F811
    connect,  # noqa: F811
    browser,
    console,
    viewport,
):
    base = chat_server.base_url
    phone = viewport == "phone"
    size = PHONE if phone else DESKTOP
    screens = Screens("8-poll", viewport, phone)
    creator = await sign_in(chat_server, Role.CREATOR, prefix="pollpage")
    row, _ = await store.create_stream(
        chat_server.pool,
        title="Poll room",
        creator_handle=creator.handle,
        creator_id=creator.user_id,
    )
    room = str(row.id)
    voter = await connect(await sign_in(chat_server, prefix="pollpage"))
    assert (await voter.join(room))["ok"]

    # the creator opens a challenge from the studio's form
    await browser.add_cookies([{"name": COOKIE, "value": creator.session, "url": base}])
    try:
        studio = console.watch(await browser.new_page(), "creator")
        await studio.set_viewport_size(size)
        await studio.goto(f"{base}/studio/{room}")
        polls = studio.get_by_test_id("studio-polls")
        await polls.get_by_label("Kind").select_option("challenge")
        await polls.get_by_label("Question").fill("What next?")
        await polls.get_by_role("textbox", name="Option 1").fill("Dance")
        await polls.get_by_role("textbox", name="Option 2").fill("Sing")
        await polls.get_by_role("button", name="Add an option").click()
        await polls.get_by_role("textbox", name="Option 3").fill("Joke")
        await polls.get_by_role("button", name="Open").click()
        opened = await voter.wait_for(lambda: voter.received[events.POLL_OPENED], what="open")
        poll = opened[0]["poll"]
        assert (poll["kind"], poll["options"]) == ("challenge", ["Dance", "Sing", "Joke"])
        await polls.get_by_test_id("studio-poll-open").wait_for()
        await screens.check(studio, "studio-poll-open")
    finally:
        await browser.clear_cookies()

    member = await sign_in(chat_server, prefix="pollpage")
    await browser.add_cookies([{"name": COOKIE, "value": member.session, "url": base}])
    try:
        page = console.watch(await browser.new_page(), "member")
        await page.set_viewport_size(size)
        await page.goto(f"{base}/watch/{room}")
        card = page.get_by_test_id("poll-card")
        await card.get_by_role("heading", name="Challenge: What next?").wait_for()
        await card.get_by_role("button", name="Sing").click()
        await card.get_by_role("status").filter(has_text="Counted: Sing").wait_for()
        assert (
            await voter.call(
                events.POLL_VOTE, {"streamId": room, "pollId": poll["id"], "option": 1}
            )
        )["ok"]
        await card.get_by_text("2 votes · 100%").wait_for()  # the tally, live
        await card.get_by_role("button", name="Sing").click()
        await card.get_by_role("status").filter(has_text="ALREADY_VOTED").wait_for()
        await screens.check(page, "watch-poll-open")
        # the creator closes it early; the room sees the winner
        closed = await chat_server.pool.fetchval(
            "SELECT count(*) FROM room_polls WHERE id = $1 AND state = 'open'",
            uuid.UUID(poll["id"]),
        )
        assert closed == 1
    finally:
        await browser.clear_cookies()
    await browser.add_cookies([{"name": COOKIE, "value": creator.session, "url": base}])
    try:
        await studio.get_by_test_id("studio-polls").get_by_role("button", name="Close now").click()
        await page.get_by_test_id("poll-result").filter(has_text="Winner: Sing").wait_for()
        await studio.get_by_test_id("studio-poll-history").get_by_text("Winner: Sing").wait_for()
        await screens.check(page, "watch-poll-result")
    finally:
        await browser.clear_cookies()
    assert not console.page_errors(), console.page_errors()


async def test_milestones_and_the_reactive_avatar(chat_server, browser, console, http):  # noqa: F811
    base = chat_server.base_url
    screens = Screens("9-reactions", "phone", phone=True)
    creator = await sign_in(chat_server, Role.CREATOR, prefix="reactpage")
    row, _ = await store.create_stream(
        chat_server.pool,
        title="Reactions",
        creator_handle=creator.handle,
        creator_id=creator.user_id,
    )
    room = str(row.id)
    await chat_server.pool.execute(
        "UPDATE streams SET state = 'live', started_at = now() WHERE id = $1", row.id
    )
    fan = await sign_in(chat_server, prefix="reactpage")
    await fund(chat_server.app[LEDGER], fan.user_id, 1000)

    await browser.add_cookies([{"name": COOKIE, "value": creator.session, "url": base}])
    try:
        studio = console.watch(await browser.new_page(), "creator")
        await studio.set_viewport_size(PHONE)
        await studio.goto(f"{base}/studio/{room}")
        ladder = studio.get_by_test_id("studio-milestones")
        for n, (title, target) in enumerate([("Wave", "20"), ("Dance", "500")], start=1):
            await ladder.get_by_role("button", name="Add a milestone").click()
            await ladder.get_by_label(f"Milestone {n}", exact=True).fill(title)
            await ladder.get_by_label(f"Tokens for milestone {n}").fill(target)
        await ladder.get_by_role("button", name="Save milestones").click()
        await ladder.get_by_role("status").filter(has_text="Saved.").wait_for()
        avatar = studio.get_by_test_id("studio-avatar")
        await avatar.get_by_label("Excited from (tokens)").fill("25")
        await avatar.get_by_role("button", name="Save").click()
        await screens.check(studio, "studio-reactions")
    finally:
        await browser.clear_cookies()

    page = console.watch(await browser.new_page(), "viewer")
    await page.set_viewport_size(PHONE)
    await page.goto(f"{base}/watch/{room}")
    await page.get_by_test_id("milestones").get_by_text("Wave").wait_for()
    await page.locator("[data-testid=reactive-avatar][data-state=idle]").wait_for()
    async with http.post(
        f"{base}/api/v1/streams/{room}/tip",
        json={"amount": 30},
        headers={**fan.headers, "Idempotency-Key": uuid.uuid4().hex},
    ) as res:
        assert res.status == 201, await res.text()
    await page.locator("[data-testid=reactive-avatar][data-state=excited]").wait_for()
    await page.locator("[data-testid=milestones] li[data-reached=yes]", has_text="Wave").wait_for()
    await screens.check(page, "watch-reactions")
    assert not console.page_errors(), console.page_errors()
