"""Journeys through the web app as people take them, in real Chromium against a real server,
each at 1366x850 and at 390x844 (touch). Every screen is screenshotted (``tests/e2e/screens.py``:
artifacts under ``var/e2e``), checked by axe-core and, on the phone, for overflow at 360 px.

(1) A new viewer finds a live stream that a second Chromium publishes, signs up (first with a
date of birth under 18: refused next to the field in the API's words), declares their age,
runs out of tokens, buys some through the sandbox provider's checkout, chats, sends a quick tip
and sees the goal bar move and the tip in the activity feed. On the desktop run the server is
restarted in the middle: "reconnecting" shows, then chat and the player resume without a page
reload.

The journeys' server runs with the production defaults for going live (the creator is verified
through the review API and checks in for each broadcast) and for watching (the age gate:
adult streams need a self-declared age).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Page, expect

from api.app import create_app
from api.auth.rbac import Role
from api.keys import POOL
from api.moderation import store as moderation_store
from api.streams import store as streams_store
from api.wallet.payouts import PAYOUTS
from api.wallet.service import LEDGER
from teezu.settings import Settings
from tests import identity
from tests.accounts import Account, create_user, unique_handle
from tests.conftest import free_port
from tests.e2e.screens import Screens, chromium_at
from tests.e2e.test_browser import sign_in, wait_studio_live
from tests.e2e.watchpage import CHAT_INPUT, CHAT_LINE, CHAT_SEND, VIDEO, video_time
from tests.integration.wallet.conftest import earn
from tests.performers import check_in, make_ready

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


class JourneyServer:
    """A full app on its own port that a test can stop and start again (same database)."""

    def __init__(self, dsn: str, settings: Settings) -> None:
        self.dsn, self.settings = dsn, settings
        self.base_url = f"http://127.0.0.1:{settings.port}"
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    async def start(self) -> None:
        self.app = await asyncio.to_thread(create_app, self.settings, dsn=self.dsn)
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.settings.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @property
    def pool(self):
        assert self.app is not None
        return self.app[POOL]


@dataclass
class Live:
    server: JourneyServer
    stream_id: str
    title: str
    creator: Account
    studio: Page


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def journey_server(pg_dsn, tmp_path_factory) -> AsyncIterator[JourneyServer]:
    settings = Settings(
        port=free_port(),
        edge_port=0,  # players use the app's /hls/ (the edge has its own e2e test)
        var_dir=tmp_path_factory.mktemp("journeys"),
        node_id="journeys",
        bcrypt_rounds=4,  # as the suite's server: cost 12 is proven by test_passwords
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
        moderation_enabled=False,
        post_scan_enabled=False,
        publisher_media_timeout=4.0,
    )
    server = JourneyServer(pg_dsn, settings)
    await server.start()
    # The seeded default rule, whatever an earlier test (schemathesis) set on this database.
    await server.pool.execute(
        "DELETE FROM age_gate_rules; INSERT INTO age_gate_rules (country, region, requirement) "
        "VALUES ('*', '', 'self_declared')"
    )
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def live(journey_server, tmp_path_factory) -> AsyncIterator[Live]:
    """A creator live from the studio in a second Chromium, with a goal and a tip menu."""
    server = journey_server
    made = SimpleNamespace(app=server.app, pool=server.pool)
    creator, reviewer = [
        Account(server.base_url, id=u.id, handle=u.handle, email=u.email)
        for u in (
            await create_user(made, frozenset({Role.CREATOR})),
            await create_user(made, frozenset({Role.MODERATOR})),
        )
    ]
    for acct in (creator, reviewer):
        assert (await acct.login()).status == 200
    title = f"Journey live {unique_handle('t')}"
    r = await creator.call("POST", "/api/v1/streams", json={"title": title})
    assert r.status == 201, r.body
    sid = r.data["id"]
    await make_ready(sid, creator, reviewer=reviewer)
    async with chromium_at(tmp_path_factory.mktemp("studio"), server.base_url, phone=False) as ctx:
        studio = await ctx.new_page()
        await studio.goto(f"{server.base_url}/studio/{sid}")
        await sign_in(studio, creator.email, creator.password)
        await studio.wait_for_function("document.body.dataset.account === 'signed-in'")
        # The creator sets the goal and a tip-menu item in the studio, then goes live.
        await studio.get_by_role("textbox", name="Goal", exact=True).fill("Dance party")
        await (
            studio.locator("form", has=studio.get_by_role("button", name="Set goal"))
            .get_by_label("Tokens", exact=True)
            .fill("1000")
        )
        await studio.get_by_role("button", name="Set goal").click()
        await studio.get_by_test_id("studio-goal").get_by_text("0 / 1000").wait_for()
        await studio.get_by_label("What they get").fill("Song request")
        await (
            studio.locator("form", has=studio.get_by_role("button", name="Add", exact=True))
            .get_by_label("Tokens", exact=True)
            .fill("50")
        )
        await studio.get_by_role("button", name="Add", exact=True).click()
        await studio.get_by_test_id("studio-menu").get_by_text("Song request").wait_for()
        await studio.click("#golive")
        await wait_studio_live(studio)
        # The studio, live: checked like every journey screen (from its top).
        await studio.evaluate("window.scrollTo(0, 0)")
        await Screens("0-studio", "desktop", phone=False).check(studio, "studio-live")
        try:
            yield Live(server, sid, title, creator, studio)
        finally:
            with contextlib.suppress(Exception):  # the page may be gone already
                await studio.click("#stop", timeout=5_000)
            await creator.close()
            await reviewer.close()


async def goal_progress(page: Page) -> int:
    text = await page.get_by_test_id("goal-progress").first.text_content() or ""
    return int(text.split("/")[0].strip())


async def open_tips(page: Page, phone: bool) -> Page:
    """The tip buttons: in the input zone on the desktop, in the tip sheet on the phone."""
    if phone:
        await page.get_by_test_id("tip-fab").click()
        await page.get_by_role("dialog").wait_for()
    return page


async def close_tips(page: Page, phone: bool) -> None:
    if phone:
        await page.get_by_role("dialog").get_by_role("button", name="Close").click()
        await page.get_by_role("dialog").wait_for(state="detached")


async def restart_mid_journey(live: Live, page: Page, screens: Screens) -> None:
    """Stop the server under the open watch room, see "reconnecting", start it again, go live
    again from the studio: chat and the player come back in the same page (no reload)."""
    await page.evaluate("window.__sameDocument = true")
    t_before = await video_time(page)
    await live.server.stop()
    await page.get_by_test_id("reconnecting").wait_for(timeout=20_000)
    await page.get_by_test_id("chat-reconnecting").wait_for(timeout=5_000)
    await screens.check(page, "watch-reconnecting")
    await live.server.start()
    # The broadcast ended with the old server process: the creator checks in and goes live again.
    await check_in(live.creator, live.stream_id)
    # The studio saw its connection go (error) or still thinks it is live (then Stop).
    if await live.studio.is_enabled("#stop"):
        await live.studio.click("#stop")
    await live.studio.wait_for_function("document.body.dataset.state !== 'live'")
    await live.studio.click("#golive")
    await wait_studio_live(live.studio, within=30)
    await page.get_by_test_id("reconnecting").wait_for(state="detached", timeout=30_000)
    # The player plays the new broadcast: its clock runs again.
    await page.wait_for_function(
        f"{VIDEO} && !{VIDEO}.paused && {VIDEO}.currentTime > 0.5 && "
        "document.querySelector('[data-testid=player]').dataset.status === 'playing'",
        timeout=45_000,
        polling=250,
    )
    t_after = await video_time(page)
    await asyncio.sleep(2)
    assert await video_time(page) > t_after, "the player does not advance after the restart"
    # Chat works again in the same document.
    await page.locator("[data-testid=chat][data-state=joined]").wait_for(timeout=20_000)
    await page.fill(CHAT_INPUT, "back after the restart")
    await page.click(CHAT_SEND)
    await page.locator(CHAT_LINE, has_text="back after the restart").wait_for(timeout=10_000)
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    print(f"\nrestart: player at {t_before:.1f}s before, playing again at {t_after:.1f}s")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_viewer_signs_up_buys_tokens_chats_and_tips(
    live: Live, viewport: str, tmp_path_factory, console
) -> None:
    phone = viewport == "phone"
    screens = Screens("1-viewer", viewport, phone)
    base = live.server.base_url
    handle = unique_handle("v")
    async with chromium_at(tmp_path_factory.mktemp("viewer"), base, phone=phone) as ctx:
        page = console.watch(await ctx.new_page(), f"viewer-{viewport}")

        # Discover: the live stream, found by its title through the server-side search.
        await page.goto(base + "/")
        await page.get_by_role("heading", name="Live now").wait_for()
        await page.get_by_role("searchbox").fill(live.title.split()[-1])
        card = page.get_by_role("link", name=re.compile(re.escape(live.title)))
        await card.wait_for(timeout=15_000)
        await screens.check(page, "discover")
        await card.click()

        # The watch room, signed out: adult stream, age check first; chat says sign in.
        await page.get_by_test_id("stream-title").get_by_text(live.title).wait_for()
        await page.locator("[data-testid=player][data-state=denied]").wait_for(timeout=15_000)
        await screens.check(page, "watch-signed-out")
        await page.get_by_test_id("chat").get_by_role("link", name="Sign up").click()

        # Sign-up: under 18 is refused next to the date field, in the API's words.
        await page.get_by_role("heading", name="Create your account").wait_for()
        await page.get_by_label("Email").fill(f"{handle}@example.org")
        await page.get_by_label("Username").fill(handle)
        await page.get_by_label("Password").fill("a long enough password")
        young = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 17 * 365.25 * 86400))
        await page.get_by_label("Date of birth").fill(young)
        await page.get_by_role("button", name="Sign up").click()
        refusal = page.get_by_role("alert").filter(has_text="UNDERAGE")
        await refusal.wait_for()
        assert "18 or older" in (await refusal.text_content() or "")
        await screens.check(page, "signup-underage")
        await page.get_by_label("Date of birth").fill("1990-04-01")
        await page.get_by_role("button", name="Sign up").click()

        # The age gate: what applies here, the self-declaration.
        await page.get_by_role("heading", name="Age check").wait_for()
        await expect(page.get_by_test_id("age-requirement")).to_contain_text("declare")
        await screens.check(page, "age-gate")
        await page.get_by_role("checkbox").check()
        await page.get_by_role("button", name="Confirm").click()

        # Back in the room: it plays now.
        await page.wait_for_function(f"{VIDEO} && {VIDEO}.currentTime > 1", timeout=30_000)
        await page.locator("[data-testid=chat][data-state=joined]").wait_for(timeout=15_000)
        await page.fill(CHAT_INPUT, f"hello from {viewport}")
        await page.click(CHAT_SEND)
        await page.locator(CHAT_LINE, has_text=f"hello from {viewport}").wait_for()
        await screens.check(page, "watch-chat")

        # No tokens yet: the tip is refused with a way to buy some.
        await open_tips(page, phone)
        await page.get_by_role("button", name="Tip 5 tokens").click()
        await page.get_by_text("Not enough tokens. (INSUFFICIENT_FUNDS)").wait_for()
        await screens.check(page, "tip-refused")
        await page.get_by_role("link", name="Buy tokens").click()

        # The wallet: the sandbox provider's checkout, confirmed by its webhook.
        await page.get_by_role("heading", name="Buy tokens").wait_for()
        await expect(page.get_by_test_id("wallet-balance")).to_have_text("0")
        await screens.check(page, "wallet")
        await page.get_by_role("list").get_by_role("button").first.click()
        await (
            page.get_by_role("dialog").get_by_role("button", name=re.compile("^Pay ")).first.click()
        )
        await page.locator("[data-testid=checkout][data-state=confirmed]").wait_for(timeout=15_000)
        await screens.check(page, "checkout-confirmed")
        await page.get_by_role("dialog").get_by_role("button", name="Close").first.click()
        balance = int(await page.get_by_test_id("wallet-balance").text_content() or "0")
        assert balance > 0

        # The quick tip: the balance drops by it, the goal bar moves, the feed shows it.
        await page.go_back()
        await page.get_by_test_id("stream-title").wait_for()
        before = await goal_progress(page)
        await open_tips(page, phone)
        await page.get_by_role("button", name="Tip 5 tokens").click()
        await page.get_by_test_id("tip-sent").wait_for()
        await close_tips(page, phone)
        await expect(page.get_by_test_id("goal-progress").first).to_contain_text(
            f"{before + 5} / 1000", timeout=15_000
        )
        feed_tip = page.get_by_test_id("feed").locator("[data-kind=tip]", has_text=handle)
        await expect(feed_tip).to_contain_text(f"{handle} tipped 5")
        await expect(page.get_by_test_id("balance")).to_contain_text(f"{balance - 5} tokens")
        await screens.check(page, "watch-tipped")

        if not phone:
            await restart_mid_journey(live, page, screens)
            await screens.check(page, "watch-resumed")

    assert not console.page_errors(), console.page_errors()
    print(f"\n{viewport}: {len(screens.shots)} screens in {screens.folder}")


async def test_creator_receives_tips_uses_the_safe_word_and_resumes(
    live: Live, tmp_path_factory, console
) -> None:
    """(2), after the viewers' journeys on the same broadcast: the creator (who set the goal and
    the tip menu in the studio and went live, see ``live``) sees the viewers' tips in the
    studio's feed, presses the safe word: the broadcast is frozen on the slate and a viewer's
    room says it is paused; then resumes with the confirmation ticked."""
    from live.broadcasts import BROADCASTS

    studio, screens = live.studio, Screens("2-creator", "desktop", phone=False)
    base = live.server.base_url
    feed = studio.get_by_test_id("studio-feed").locator("[data-kind=tip]")
    await expect(feed.first).to_contain_text("tipped 5", timeout=10_000)
    await studio.evaluate("window.scrollTo(0, 0)")
    await screens.check(studio, "studio-tips")
    async with chromium_at(tmp_path_factory.mktemp("watcher"), base, phone=False) as ctx:
        watcher = console.watch(await ctx.new_page(), "watcher")
        await watcher.goto(f"{base}/watch/{live.stream_id}")
        await watcher.locator("[data-testid=chat][data-state=joined]").wait_for(timeout=20_000)

        await studio.click("#safeword")
        await studio.wait_for_function("document.body.dataset.frozen === 'yes'", timeout=10_000)
        assert live.server.app is not None
        session = live.server.app[BROADCASTS][live.stream_id]
        assert session.pipeline.frozen_reason == "safe word"
        await watcher.get_by_text("The stream is paused.").wait_for(timeout=10_000)
        await screens.check(studio, "studio-frozen")
        await screens.check(watcher, "watch-frozen")

        assert await studio.evaluate("document.getElementById('resume').checkValidity()") is False
        await studio.check("#resume-confirm")
        await studio.click("#resume-button")
        await studio.wait_for_function("document.body.dataset.frozen === 'no'", timeout=10_000)
        assert session.pipeline.frozen_reason is None
        await watcher.get_by_text("The stream is paused.").wait_for(
            state="detached", timeout=10_000
        )
        await screens.check(studio, "studio-resumed")
    assert not console.page_errors(), console.page_errors()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_member_enrols_2fa_signs_in_with_a_code_and_exports(
    journey_server: JourneyServer, viewport: str, tmp_path_factory, console
) -> None:
    """(5) A member turns on two-step verification (QR code and key, a code from the app,
    recovery codes shown once), signs out, signs in again with a code, and exports their data."""
    import pyotp

    phone = viewport == "phone"
    screens = Screens("5-member", viewport, phone)
    server = journey_server
    made = SimpleNamespace(app=server.app, pool=server.pool)
    user = await create_user(made, frozenset({Role.MEMBER}))
    member = Account(server.base_url, id=user.id, handle=user.handle, email=user.email)
    base = server.base_url

    async def menu(page: Page, name: str) -> None:
        if phone:
            await page.get_by_role("button", name="Menu").click()
            await page.get_by_role("dialog").get_by_role("link", name=name).click()
        else:
            await page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()

    async def sign_in_as(page: Page, code: str | None) -> None:
        await page.get_by_label("Email").fill(member.email)
        await page.get_by_label("Password").fill(member.password)
        await page.get_by_role("button", name="Sign in").click()
        if code is not None:
            await page.get_by_role("heading", name="Two-step verification").wait_for()
            await screens.check(page, "sign-in-code")
            await page.get_by_label("Code").fill(code)
            await page.get_by_role("button", name="Verify").click()

    async with chromium_at(tmp_path_factory.mktemp("member"), base, phone=phone) as ctx:
        page = console.watch(await ctx.new_page(), f"member-{viewport}")
        await page.goto(f"{base}/signin?next=/account")
        await sign_in_as(page, None)
        await page.get_by_role("heading", name="My account").wait_for()
        await expect(page.get_by_test_id("tfa-state")).to_contain_text("Off")
        await screens.check(page, "account")

        # Enrol: the QR code and the key; a code from the "app" (pyotp with that key).
        await page.get_by_role("button", name="Turn on two-step verification").click()
        qr = page.get_by_role("img", name="QR code for your authenticator app")
        await qr.wait_for()
        assert (await qr.get_attribute("src") or "").startswith("data:image/png;base64,")
        secret = (await page.get_by_test_id("totp-secret").text_content() or "").strip()
        totp = pyotp.TOTP(secret)
        await screens.check(page, "2fa-qr")
        await page.get_by_label("Code").fill(totp.now())
        await page.get_by_role("button", name="Verify").click()
        codes = page.get_by_test_id("recovery-codes").locator("li")
        await expect(codes.first).to_be_visible()
        assert await codes.count() >= 8
        await expect(page.get_by_test_id("tfa-state")).to_contain_text("On")
        await screens.check(page, "2fa-on")

        # Sign out, then in again: the password, then a code (the next step's: a code is
        # never accepted twice, and the server takes one step either side of now).
        signed_out = page.expect_response(lambda r: r.url.endswith("/api/v1/auth/logout"))
        async with signed_out as logout:
            if phone:
                await page.get_by_role("button", name="Menu").click()
                await page.get_by_role("dialog").get_by_role("button", name="Sign out").click()
            else:
                nav = page.get_by_role("navigation", name="Main")
                await nav.get_by_role("button", name="Sign out").click()
        assert (await logout.value).ok
        await page.goto(f"{base}/signin?next=/account")
        await sign_in_as(page, totp.at(time.time() + 30))
        await page.get_by_role("heading", name="My account").wait_for()

        # Export: started, prepared, a download link to the zip.
        await page.get_by_role("button", name="Export my data").click()
        link = page.get_by_test_id("export-download")
        await link.wait_for(timeout=60_000)
        href = await link.get_attribute("href") or ""
        async with page.expect_download() as download:
            await link.click()
        saved = tmp_path_factory.mktemp("export") / "export.zip"
        await (await download.value).save_as(saved)
        assert saved.read_bytes()[:2] == b"PK", href  # a zip
        await screens.check(page, "export-ready")
    await member.close()
    assert not console.page_errors(), console.page_errors()


async def staff_sign_in(page: Page, who: Account, base: str, path: str, heading: str) -> None:
    await page.goto(f"{base}/signin?next={path}")
    await page.get_by_label("Email").fill(who.email)
    await page.get_by_label("Password").fill(who.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name=heading, exact=True).wait_for()


async def account_with(server: JourneyServer, *roles: Role) -> Account:
    made = SimpleNamespace(app=server.app, pool=server.pool)
    user = await create_user(made, frozenset(roles))
    acct = Account(server.base_url, id=user.id, handle=user.handle, email=user.email)
    assert (await acct.login()).status == 200
    return acct


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_moderator_resolves_a_flag_and_a_report_and_approves_an_identity(
    journey_server, tmp_path_factory, console, viewport
):
    """(3) A moderator resolves an automated flag (confirming it: the stream marked explicit)
    and a viewer's report (a warning), and approves a performer's identity record after
    looking at its documents."""
    phone = viewport == "phone"
    screens = Screens("3-moderator", viewport, phone)
    server, base = journey_server, journey_server.base_url
    moderator = await account_with(server, Role.MODERATOR)
    performer = await account_with(server, Role.CREATOR)
    viewer = await account_with(server, Role.MEMBER)
    row, _ = await streams_store.create_stream(
        server.pool, title="Flagged show", creator_handle=performer.handle, creator_id=performer.id
    )
    reason = f"nudity score 0.9{uuid.uuid4().hex[:4]}"
    flag_id = await moderation_store.add_flag(
        server.pool, row.id, kind="frame", reason=reason, snapshot_key=None
    )
    details = f"Spam links in chat {uuid.uuid4().hex[:6]}"
    r = await viewer.call(
        "POST",
        "/api/v1/reports",
        json={
            "targetType": "user",
            "targetId": str(performer.id),
            "reason": "spam",
            "details": details,
        },
    )
    assert r.status == 201, r.body
    report_id = r.data["id"]
    r = await identity.submit(performer, legal_name="Jane Q. Performer")
    assert r.status == 201, r.body

    async with chromium_at(tmp_path_factory.mktemp("moderator"), base, phone=phone) as ctx:
        page = console.watch(await ctx.new_page(), f"moderator-{viewport}")
        await staff_sign_in(page, moderator, base, "/moderation", "Moderation")
        flag = page.get_by_test_id("flag").filter(has_text=reason)
        await flag.wait_for()
        await screens.check(page, "flags")
        await flag.get_by_role("button", name="Details").click()
        await flag.get_by_label("Mark explicit").check()
        await flag.get_by_label("Note (for the record)").fill("Confirmed from the frame")
        await flag.get_by_role("button", name="Confirm").click()
        await flag.wait_for(state="detached")
        got = (await moderator.call("GET", f"/api/v1/moderation/flags/{flag_id}")).data
        assert (got["status"], got["resolution"]) == ("resolved", "confirmed"), got

        await page.get_by_role("tab", name="Reports").click()
        report = page.get_by_test_id("report").filter(has_text=details)
        await report.wait_for()
        await report.get_by_label("Action").select_option("warn")
        await report.get_by_label("Note (for the record)").fill("First warning")
        await screens.check(page, "reports")
        await report.get_by_role("button", name="Apply").click()
        await report.wait_for(state="detached")
        log = (await moderator.call("GET", f"/api/v1/moderation/log?reportId={report_id}")).data
        assert [e["action"] for e in log] == ["warn"], log

        await page.get_by_role("tab", name="Identity").click()
        queued = page.get_by_test_id("identity-record").filter(has_text=f"@{performer.handle}")
        await queued.get_by_role("button", name=f"Review @{performer.handle}").click()
        record = queued.get_by_test_id("record")
        await expect(record).to_contain_text("Jane Q. Performer")
        docs = record.get_by_role("img", name=re.compile("^Document: "))
        await expect(docs.first).to_be_visible()
        loaded = "(img) => img.complete && img.naturalWidth > 0"  # the document itself, decoded
        await page.wait_for_function(loaded, arg=await docs.first.element_handle())
        await screens.check(page, "identity-record")
        await record.get_by_role("button", name="Approve").click()
        await queued.wait_for(state="detached")  # approved: it left the queue
        status = (await performer.call("GET", "/api/v1/verification/status")).data
        assert status["verified"] is True, status

        await page.get_by_role("tab", name="Log").click()
        await expect(page.get_by_test_id("moderation-log")).to_contain_text("warn")
        await screens.check(page, "log")
    for acct in (moderator, performer, viewer):
        await acct.close()
    assert not console.page_errors(), console.page_errors()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_admin_approves_a_payout(journey_server, tmp_path_factory, console, viewport):
    """(4) A creator with matured earnings asks for a payout; an admin approves it in the
    payout queue; the creator's earnings screen shows it approved."""
    phone = viewport == "phone"
    screens = Screens("4-admin", viewport, phone)
    server, base = journey_server, journey_server.base_url
    admin = await account_with(server, Role.ADMIN)
    creator = await account_with(server, Role.CREATOR)
    service = server.app[PAYOUTS]
    saved = service.clock
    # Earnings mature after the hold period: the payout service's clock is moved past it
    # (the ledger's rows are never touched).
    service.clock = lambda: datetime.now(UTC) + timedelta(days=40)
    try:
        await earn(SimpleNamespace(ledger=server.app[LEDGER], pool=server.pool), creator.id, 4000)
        amount = (await creator.call("GET", "/api/v1/creators/me/earnings")).data["available"]
        assert amount >= 4000, amount
        r = await creator.call(
            "POST",
            "/api/v1/payouts",
            json={"amount": amount},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status == 201, r.body
        payout_id = r.data["payout"]["id"]

        async with chromium_at(tmp_path_factory.mktemp("admin"), base, phone=phone) as ctx:
            page = console.watch(await ctx.new_page(), f"admin-{viewport}")
            await staff_sign_in(page, admin, base, "/admin", "Admin")
            card = page.get_by_test_id("payout").filter(has_text=str(creator.id))
            await expect(card).to_contain_text(f"{amount} tokens")
            await screens.check(page, "payout-queue")
            await card.get_by_label("Note (for the record)").fill("Bank details checked")
            await card.get_by_role("button", name="Approve").click()
            await card.wait_for(state="detached")
            await page.get_by_label("Show").select_option("approved")
            done = page.get_by_test_id("payout").filter(has_text=str(creator.id))
            await expect(done.get_by_test_id("payout-state")).to_contain_text("Approved")
            await screens.check(page, "payout-approved")

            # The creator sees it on their earnings screen.
            await ctx.clear_cookies()
            await staff_sign_in(page, creator, base, "/studio/business", "Earnings and offers")
            await expect(page.get_by_test_id("payouts")).to_contain_text("Approved")
            await screens.check(page, "creator-earnings")
        mine = (await creator.call("GET", "/api/v1/payouts")).data
        assert [(p["id"], p["state"]) for p in mine] == [(payout_id, "approved")], mine
    finally:
        service.clock = saved
    for acct in (admin, creator):
        await acct.close()
    assert not console.page_errors(), console.page_errors()
