"""A followers-only stream in the watch room: a follower plays it, a stranger does not."""

from __future__ import annotations

import pytest

from api.auth.rbac import Role
from api.streams import store
from tests.e2e.watchpage import PLAYER_MESSAGE, VIDEO, wait_watch_state
from tests.publisher import publish

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_followers_stream_plays_for_a_follower_only(
    server, http, account, ready, browser, console
):
    creator = await account(Role.CREATOR, login=False)
    fan = await account()
    stranger = await account()
    assert (await fan.call("POST", f"/api/v1/users/{creator.handle}/follow")).status == 204
    row, token = await store.create_stream(
        server.pool,
        title="Followers only",
        creator_handle=creator.handle,
        creator_id=creator.id,
        visibility="followers",
    )
    sid = str(row.id)
    base = server.base_url
    await ready(sid, creator)
    pub = await publish(http, base, sid, token)
    try:
        # The stranger's session: the page says why it cannot play, and fetches no media.
        await browser.add_cookies([{"name": "session", "value": stranger.cookie(), "url": base}])
        page = console.watch(await browser.new_page(), "stranger")
        media: list[str] = []
        page.on("request", lambda r: media.append(r.url) if "/hls/" in r.url else None)
        await page.goto(f"{base}/watch/{sid}")
        await wait_watch_state(page, "denied", 15)
        assert "PLAYBACK_DENIED" in await page.text_content(PLAYER_MESSAGE)
        assert media == []
        await page.close()

        # The follower's session: the page gets a token bound to the account and plays.
        await browser.clear_cookies()
        await browser.add_cookies([{"name": "session", "value": fan.cookie(), "url": base}])
        page = console.watch(await browser.new_page(), "fan")
        page.on("request", lambda r: media.append(r.url) if "/hls/" in r.url else None)
        await page.goto(f"{base}/watch/{sid}")
        await page.wait_for_function(
            f"{VIDEO} && {VIDEO}.currentTime > 1", timeout=30_000, polling=200
        )
        played = [u for u in media if "token=" in u]
        assert played and all(fan.id.hex in u for u in played), media[:3]
    finally:
        await pub.delete(http, base)
    assert not console.page_errors(), console.page_errors()
