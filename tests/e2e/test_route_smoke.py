"""Every route of the web app shows a value this test seeded on the server (a title, a handle,
a follower count, a balance, an e-mail address), so no screen is an empty shell."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from api.auth.rbac import Role
from api.moderation import store as moderation_store
from api.streams import store
from api.wallet.payouts import PAYOUTS
from api.wallet.service import LEDGER
from tests.integration.wallet.conftest import earn

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
    # The staff screens and the creator's business screen: a flag, a payout, a tier.
    moderator, admin = await account(Role.MODERATOR), await account(Role.ADMIN)
    flag_reason = f"seeded flag {uuid.uuid4().hex[:6]}"
    await moderation_store.add_flag(
        server.pool, row.id, kind="frame", reason=flag_reason, snapshot_key=None
    )
    r = await fan.call(
        "POST",
        "/api/v1/reports",
        json={"targetType": "user", "targetId": str(creator.id), "reason": "spam"},
    )
    assert r.status == 201, r.body
    tier = f"Tier {uuid.uuid4().hex[:6]}"
    r = await creator.call(
        "POST", f"/api/v1/creators/{creator.id}/tiers", json={"name": tier, "price": 50}
    )
    assert r.status == 201, r.body
    payouts, clock = server.app[PAYOUTS], server.app[PAYOUTS].clock
    payouts.clock = lambda: datetime.now(UTC) + timedelta(days=40)  # past the earnings' hold
    try:
        await earn(SimpleNamespace(ledger=server.app[LEDGER], pool=server.pool), creator.id, 4000)
        r = await creator.call(
            "POST",
            "/api/v1/payouts",
            json={"amount": 4000},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status == 201, r.body
    finally:
        payouts.clock = clock

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
        (fan, "/account", "spam about user: open"),  # my reports
        (None, f"/u/{creator.handle}", f"@{fan.handle}"),  # the followers list
        (creator, "/studio", title),
        (creator, f"/studio/{sid}", "0 / 77"),
        (creator, f"/studio/{sid}", "No private show requests."),  # the studio's queue
        (creator, "/studio/business", tier),
        (moderator, "/moderation", flag_reason),
        (admin, "/admin", str(creator.id)),
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
