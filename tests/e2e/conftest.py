"""Headless Chromium (Playwright, async API) against the session's real server.

The server runs in the test session's event loop, so everything here is awaited: only the async
Playwright API, never the sync one. ``E2E_DEBUG=1`` prints every page's requests, responses and
console messages as they happen (with ``-s``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    async_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
DEBUG = bool(os.environ.get("E2E_DEBUG"))


@dataclass
class ConsoleLog:
    """Console errors/warnings, uncaught exceptions and failed requests of a test's pages.

    Attached to the test report when the test fails. (A fetch whose response body the page never
    reads shows up as ``requestfailed ... net::ERR_ABORTED`` even though it got its response.)
    """

    lines: list[str] = field(default_factory=list)

    def watch(self, page: Page, name: str) -> Page:
        def on_console(msg: ConsoleMessage) -> None:
            if DEBUG:
                print(f"{time.time():.3f} [{name}] console.{msg.type}: {msg.text}")
            if msg.type in ("error", "warning"):
                url = msg.location.get("url", "")
                self.lines.append(f"[{name}] console.{msg.type}: {msg.text} {url}".rstrip())

        def on_failed(req: Request) -> None:
            if DEBUG:
                print(f"{time.time():.3f} [{name}] !! {req.method} {req.url} {req.failure}")
            self.lines.append(f"[{name}] requestfailed: {req.method} {req.url} {req.failure}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.lines.append(f"[{name}] pageerror: {exc}"))
        page.on("requestfailed", on_failed)
        if DEBUG:
            page.on("request", lambda r: print(f"{time.time():.3f} [{name}] >> {r.method} {r.url}"))

            def on_response(r: Response) -> None:
                print(f"{time.time():.3f} [{name}] << {r.status} {r.request.method} {r.url}")

            page.on("response", on_response)
        return page

    def page_errors(self) -> list[str]:
        return [line for line in self.lines if "pageerror:" in line]


CONSOLE_KEY = pytest.StashKey[ConsoleLog]()


@pytest.fixture
def console(request: pytest.FixtureRequest) -> ConsoleLog:
    log = ConsoleLog()
    request.node.stash[CONSOLE_KEY] = log
    return log


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    log = item.stash.get(CONSOLE_KEY, None)
    if report.failed and log is not None:
        report.sections.append(("browser console", "\n".join(log.lines) or "(nothing logged)"))
    return report


@contextlib.asynccontextmanager
async def chromium(
    server, tmp_path_factory: pytest.TempPathFactory, *, bypass_csp: bool
) -> AsyncIterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    async with async_playwright() as pw:
        try:
            ctx = await pw.chromium.launch_persistent_context(
                user_data_dir=str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 800},
                bypass_csp=bypass_csp,
            )
        except Exception as exc:  # Playwright's message carries Chromium's stderr
            pytest.fail(f"Chromium did not start:\n{exc}")
        await ctx.grant_permissions(["camera", "microphone"], origin=server.base_url)
        try:
            yield ctx
        finally:
            await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(
    server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BrowserContext]:
    """A fresh persistent Chromium context (own profile dir) with camera/mic granted.

    It bypasses the pages' Content-Security-Policy because Playwright's polled predicates
    (``wait_for_function``) run through ``eval`` inside the page, which the CSP forbids;
    ``strict_browser`` keeps the CSP, and tests/e2e/test_csp.py runs the pages under it.
    """
    async with chromium(server, tmp_path_factory, bypass_csp=True) as ctx:
        yield ctx


@pytest_asyncio.fixture(loop_scope="session")
async def strict_browser(
    server, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[BrowserContext]:
    """Like ``browser``, with the Content-Security-Policy enforced (no ``wait_for_function``)."""
    async with chromium(server, tmp_path_factory, bypass_csp=False) as ctx:
        yield ctx


@pytest_asyncio.fixture(loop_scope="session")
async def creator_stream(server, account, ready):
    """``await creator_stream(title)``: a creator account (verified through the review API and
    checked in, as going live needs; the page signs in on its own) and a stream it owns."""
    from api.auth.rbac import Role
    from api.streams import store

    async def make(title: str):  # type: ignore[no-untyped-def]
        creator = await account(Role.CREATOR, login=False)
        row, _ = await store.create_stream(
            server.pool, title=title, creator_handle=creator.handle, creator_id=creator.id
        )
        await ready(str(row.id), creator)
        return str(row.id), creator

    return make
