"""The watch room's chat in real Chromium, on a phone-sized viewport."""

from __future__ import annotations

import pytest

from api.auth.rbac import Role
from api.auth.sessions import COOKIE
from api.chat import events
from api.streams import store
from tests.chatauth import sign_in
from tests.e2e.test_browser import PHONE
from tests.e2e.watchpage import (
    CHAT,
    CHAT_INPUT,
    CHAT_LINE,
    CHAT_LOG,
    CHAT_SEND,
    CHAT_STATUS,
    VIEWERS,
)
from tests.integration.chat.conftest import chat_server, connect  # noqa: F401 - fixtures

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]


async def test_watch_page_chat(chat_server, connect, browser, console, tmp_path):  # noqa: F811
    creator = await sign_in(chat_server, Role.CREATOR, prefix="page")
    row, _ = await store.create_stream(
        chat_server.pool,
        title="Chat on the page",
        creator_handle=creator.handle,
        creator_id=creator.user_id,
    )
    room = str(row.id)
    base = chat_server.base_url
    host = await connect(creator)
    assert (await host.join(room))["ok"]
    before = (await host.send(room, "said before the page opened"))["message"]

    anonymous = console.watch(await browser.new_page(), "anonymous")
    await anonymous.set_viewport_size(PHONE)
    await anonymous.goto(f"{base}/watch/{room}")
    await anonymous.locator(f"{CHAT}[data-state=joined]").wait_for()
    assert await anonymous.is_disabled(CHAT_INPUT)
    assert await anonymous.get_attribute(CHAT_INPUT, "placeholder") == "Sign in to chat"
    await anonymous.wait_for_selector(f"{CHAT_LOG} [data-id='{before['id']}']")

    # live from a Python client to the page, text shown as text (never as markup)
    await host.send(room, "<b>hello</b> from python")
    item = anonymous.locator(CHAT_LINE, has_text="from python")
    await item.wait_for()
    assert await item.locator("[data-part=who]").text_content() == creator.handle
    assert await item.locator("[data-part=text]").text_content() == "<b>hello</b> from python"
    assert await anonymous.locator(f"{CHAT_LOG} b").count() == 0

    # a signed-in member sends from a second page; everyone gets it
    member = await sign_in(chat_server, prefix="page")  # signed in over HTTP: its session cookie
    await browser.add_cookies([{"name": COOKIE, "value": member.session, "url": base}])
    try:
        signed_in = console.watch(await browser.new_page(), "member")
        await signed_in.set_viewport_size(PHONE)
        await signed_in.goto(f"{base}/watch/{room}")
        await signed_in.locator(f"{CHAT_INPUT}:enabled").wait_for()
        await signed_in.fill(CHAT_INPUT, "typed in chromium")
        await signed_in.click(CHAT_SEND)
        message = await host.wait_message("typed in chromium")
        assert message["user"]["handle"] == member.handle
        await anonymous.locator(CHAT_LINE, has_text="typed in chromium").wait_for()
        assert await signed_in.input_value(CHAT_INPUT) == ""
        await anonymous.locator(VIEWERS, has_text="3 watching").wait_for()

        # the creator deletes it: it leaves every page
        ack = await host.call(events.DELETE, {"streamId": room, "messageId": message["id"]})
        assert ack["ok"]
        for page in (anonymous, signed_in):
            await page.locator(f"{CHAT_LOG} [data-id='{message['id']}']").wait_for(state="detached")

        # a refusal is shown with its code
        await host.call(events.MODE, {"streamId": room, "slowMode": 60})
        await signed_in.fill(CHAT_INPUT, "first")
        await signed_in.click(CHAT_SEND)
        await host.wait_message("first")
        await signed_in.fill(CHAT_INPUT, "second")
        await signed_in.click(CHAT_SEND)
        await signed_in.locator(CHAT_STATUS, has_text="SLOW_MODE").wait_for()
    finally:
        await browser.clear_cookies()

    width = await anonymous.evaluate("document.documentElement.scrollWidth")
    await anonymous.screenshot(path=str(tmp_path / "watch-chat-390.png"), full_page=True)
    assert width <= PHONE["width"], f"watch page overflows horizontally: scrollWidth {width}"
    assert not console.page_errors(), console.page_errors()
