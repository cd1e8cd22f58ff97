"""How the browser tests read the watch room (web/src/features/watch): the player's state and
the chat by their ``data-testid``, the <video> through ``window.teezuWatch`` (test hooks)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

PLAYER = "[data-testid=player]"
VIDEO = "(window.teezuWatch && window.teezuWatch.video())"
LOW_LATENCY = "[data-testid=low-latency]"
PLAYER_MESSAGE = "[data-testid=player-message]"
CHAT = "[data-testid=chat]"
CHAT_INPUT = "[data-testid=chat-input]"
CHAT_SEND = "[data-testid=chat-send]"
CHAT_LOG = "[data-testid=chat-log]"
CHAT_LINE = "[data-testid=chat-log] [data-id]"
CHAT_STATUS = "[data-testid=chat-status]"
VIEWERS = "[data-testid=viewer-count]"

STATE_JS = "(document.querySelector('[data-testid=player]') || {dataset: {}}).dataset.state"


async def watch_state(page: Page) -> str | None:
    return await page.evaluate(STATE_JS)


async def wait_watch_state(page: Page, want: str, within: float) -> None:
    """Wait until the player shows ``want`` (live, offline, ended, denied)."""
    try:
        await page.locator(f"{PLAYER}[data-state={want}]").wait_for(timeout=within * 1000)
    except Exception:
        message = await page.locator(PLAYER_MESSAGE).all_text_contents()
        pytest.fail(
            f"{page.url}: player state is {await watch_state(page)!r}, not {want!r} after "
            f"{within}s (message {message!r})"
        )


async def video_time(page: Page) -> float:
    return float(await page.evaluate(f"{VIDEO} ? {VIDEO}.currentTime : 0"))
