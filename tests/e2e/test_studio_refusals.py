"""A refused go-live in the studio says what is missing, in words, with a link to fix it.

A new creator walks through every gate of WHIP POST with the production defaults: no identity
record (the link opens the ID form, which the test fills with real images), the record waiting
for review, no consent check-in for this broadcast (the link leads to the check-in button), live,
then a moderation freeze that outlives the broadcast. Signed out, with the publish token only,
the page says whom to sign in as. No message is a bare status code.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page

from api.auth.rbac import Role
from api.consent.errors import ConsentRequired, PerformerNotVerified
from api.keys import SAFETY
from api.moderation.errors import StreamFrozen
from api.reports.errors import AccountBanned, AccountSuspended
from api.streams import store
from ingest.errors import (
    InvalidPublishToken,
    InvalidSdp,
    NoCommonCodec,
    SdpWithoutVideo,
    StreamAlreadyLive,
    StreamNotFound,
)
from teezu.errors import PayloadTooLarge, UnsupportedMediaType
from tests.e2e.test_browser import open_studio, wait_body_state, wait_studio_live
from tests.identity import image

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

BARE_STATUS = re.compile(r"\b(HTTP|[45]\d\d)\b")


async def refused(page: Page, code: str) -> str:
    """Press Go live; wait for the refusal with ``code``; return the message the creator reads."""
    await page.click("#golive")
    await wait_body_state(page, "error", 15)
    got = await page.evaluate("document.getElementById('message').dataset.code")
    words = await page.evaluate(
        "[...document.getElementById('message').childNodes]"
        ".filter((n) => !(n.classList && n.classList.contains('code')))"
        ".map((n) => n.textContent).join('')"
    )
    assert got == code, words
    assert not BARE_STATUS.search(words), words
    return words


async def follow_fix(page: Page, href: str) -> None:
    """The message's link points at ``href``; following it brings that place into view."""
    assert await page.get_attribute("#fix", "href") == href
    await page.click("#fix")
    if href.startswith("#check-"):
        await page.wait_for_function(
            "(id) => document.activeElement && document.activeElement.id === id",
            arg=href[1:],
            timeout=5_000,
        )
        assert await page.is_visible(href)


async def test_refused_go_live_messages(server, account, reviewer, browser, console):
    creator = await account(Role.CREATOR, login=False)
    row, token = await store.create_stream(
        server.pool, title="Refusals", creator_handle=creator.handle, creator_id=creator.id
    )
    sid, base = str(row.id), server.base_url

    # Signed out, with the publish token only: whom to sign in as, and the sign-in form.
    page = console.watch(await browser.new_page(), "token-only")
    await page.goto(f"{base}/studio/{sid}#token={token}")
    await page.wait_for_function("document.body.dataset.account === 'signed-out'")
    words = await refused(page, "PERFORMER_NOT_VERIFIED")
    assert f"Sign in as @{creator.handle}" in words, words
    await follow_fix(page, "#login")
    assert await page.is_visible("#login")
    await page.close()

    # Signed in, no identity record: the link opens the ID form in the checklist.
    studio = await open_studio(browser, console, base, sid, creator)
    words = await refused(studio, "PERFORMER_NOT_VERIFIED")
    assert "Verify your identity" in words, words
    await follow_fix(studio, "#check-identity")
    assert await studio.is_visible("#idform")
    await studio.fill("#legal-name", "Ada Performer")
    await studio.fill("#born", "1990-04-01")
    await studio.set_input_files(
        "#id-front", {"name": "front.png", "mimeType": "image/png", "buffer": image()}
    )
    await studio.set_input_files(
        "#selfie", {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": image("JPEG")}
    )
    await studio.click("#idsend")
    await studio.wait_for_function(
        "document.getElementById('identity-state').textContent.includes('waiting')"
    )
    record_id = await server.pool.fetchval(
        "SELECT id FROM identity_records WHERE user_id = $1", creator.id
    )
    assert record_id is not None  # the form's upload is a real record

    # Sent, not yet reviewed: nothing to do but wait, and the page says so.
    words = await refused(studio, "PERFORMER_NOT_VERIFIED")
    assert "waiting for a moderator" in words, words

    approved = await reviewer.call(
        "POST", f"/api/v1/verification/records/{record_id}/reviews", json={"status": "approved"}
    )
    assert approved.status == 201, approved.body

    # Verified, not checked in for this broadcast: the link leads to the check-in button.
    words = await refused(studio, "CONSENT_REQUIRED")
    assert "consent" in words, words
    await follow_fix(studio, "#check-consent")
    await studio.click("#checkin")
    await studio.wait_for_function("document.getElementById('checkin').hidden")
    await studio.click("#golive")
    await wait_studio_live(studio)

    # Moderation freezes the broadcast; it ends; the next go-live is refused until a moderator
    # lifts the freeze, and the page says the creator cannot lift it.
    outcome = await server.app[SAFETY].freeze(
        sid, "moderation: EXPOSED_GENITALIA 0.93", wait_for_viewers=False
    )
    assert outcome is not None
    await studio.click("#stop")
    await wait_body_state(studio, "stopped", 10)
    await studio.wait_for_selector("#checkin:not([hidden])")  # a new broadcast: a new check-in
    await studio.click("#checkin")
    await studio.wait_for_function("document.getElementById('checkin').hidden")
    words = await refused(studio, "STREAM_FROZEN")
    assert "moderator" in words and "cannot lift it yourself" in words, words
    await follow_fix(studio, "#check-standing")
    assert "EXPOSED_GENITALIA" in await studio.text_content("#standing-state")
    assert sid not in server.broadcasts
    assert not console.page_errors(), console.page_errors()


# Every refusal WHIP POST (and the publish grant the studio asks for first) can answer with.
GO_LIVE_REFUSALS = [
    e.code
    for e in (
        InvalidPublishToken,
        StreamNotFound,
        StreamAlreadyLive,
        InvalidSdp,
        SdpWithoutVideo,
        NoCommonCodec,
        UnsupportedMediaType,
        PayloadTooLarge,
        AccountSuspended,
        AccountBanned,
        StreamFrozen,
        PerformerNotVerified,
        ConsentRequired,
    )
] + ["NOT_STREAM_OWNER"]  # the publish grant's (api/streams/ownership.py)


async def test_every_go_live_refusal_has_words_and_a_link(server, new_stream, browser, console):
    sid, token = await new_stream("Words")
    page = console.watch(await browser.new_page(), "words")
    await page.goto(f"{server.base_url}/studio/{sid}#token={token}")
    await page.wait_for_function("window.teezuGoLiveHelp !== undefined")  # the lazy route is in
    fallback = await page.evaluate(
        "window.teezuGoLiveHelp.explain('SOMETHING_NEW', {status: 403, message: 'why'}, {})"
    )
    assert fallback["text"] == "Going live was refused: why."  # an unknown code: the reason
    for code in GO_LIVE_REFUSALS:
        for ctx in ({"signedIn": False}, {"signedIn": True, "handle": "me", "identity": "none"}):
            help_ = await page.evaluate(
                "([code, ctx]) => window.teezuGoLiveHelp.explain("
                "code, {status: 400, message: 'm', meta: {performers: ['me']}}, "
                "{streamId: 'x', ...ctx})",
                [code, ctx],
            )
            assert help_["text"] != fallback["text"].replace("why", "m"), code
            assert help_["href"] and help_["label"], code
            assert not BARE_STATUS.search(help_["text"]), help_
