"""Every route of the web app shows a value this test seeded on the server (a title, a handle,
a follower count, a balance, an e-mail address), so no screen is an empty shell."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from api.auth.rbac import Role
from api.streams import store

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def bought(acct, package: str = "tokens-500") -> int:
    r = await acct.call(
        "POST",
        "/api/v1/wallet/purchase",
        json={"packageId": package},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status == 202, r.body
    pid = r.data["purchase"]["id"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        p = (await acct.call("GET", f"/api/v1/wallet/purchases/{pid}")).data
        if p["state"] == "confirmed":
            return int((await acct.call("GET", "/api/v1/wallet/balance")).data["balance"])
        await asyncio.sleep(0.1)
    raise AssertionError("the sandbox purchase was not confirmed")


async def test_each_route_shows_seeded_values(server, account, browser, console):
    creator = await account(Role.CREATOR)
    fan = await account()
    title = f"Seeded {uuid.uuid4().hex[:8]}"
    row, _ = await store.create_stream(
        server.pool, title=title, creator_handle=creator.handle, creator_id=creator.id
    )
    sid = str(row.id)
    r = await creator.call(
        "POST", f"/api/v1/streams/{sid}/goal", json={"title": "Seed goal", "target": 77}
    )
    assert r.status == 201, r.body
    assert (await fan.call("POST", f"/api/v1/users/{creator.handle}/follow")).status == 204
    followers = (await fan.call("GET", f"/api/v1/users/{creator.handle}")).data["followers"]
    balance = await bought(fan)
    base = server.base_url

    async def page_as(acct, name: str):
        await browser.clear_cookies()
        if acct is not None:
            await browser.add_cookies([{"name": "session", "value": acct.cookie(), "url": base}])
        return console.watch(await browser.new_page(), name)

    # (who, path, what the screen must show)
    checks = [
        (None, "/signup", "Create your account"),
        (None, "/signin", "Sign in"),
        (fan, "/age", "Age check"),
        (None, f"/watch/{sid}", title),
        (None, f"/u/{creator.handle}", f"{followers} followers"),
        (fan, "/wallet", str(balance)),
        (fan, "/account", fan.email),
        (creator, "/studio", title),
        (creator, f"/studio/{sid}", "0 / 77"),
        (None, "/no/such/route", "Page not found"),
    ]
    for who, path, want in checks:
        page = await page_as(who, path)
        await page.goto(base + path)
        await page.get_by_text(want, exact=False).first.wait_for(timeout=15_000)
        await page.close()

    # Discover (`/`): the live list, from the server's own search.
    await server.pool.execute("UPDATE streams SET state = 'live' WHERE id = $1", row.id)
    try:
        page = await page_as(None, "discover")
        await page.goto(base + "/")
        await page.get_by_role("searchbox").fill(title.split()[-1])
        await page.get_by_role("link", name=title).wait_for(timeout=15_000)
    finally:
        await server.pool.execute("UPDATE streams SET state = 'ended' WHERE id = $1", row.id)
        await browser.clear_cookies()
    assert not console.page_errors(), console.page_errors()
