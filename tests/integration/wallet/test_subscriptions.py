"""Subscriptions over HTTP with real accounts and the real ledger: tiers, the first charge split
like a tip, renewals at the price of the day, cancellation at period end, grace and expiry on
insufficient funds, exactly one charge per period with renewal passes racing, subscriber-only
streams, and books that still balance (`teezu ledger check`).

The wallet server bills in 2-second periods with a 3-second grace (tests/…/conftest.py); the
tests run the renewal passes themselves, waiting on the database clock for a subscription to
fall due rather than sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from api.auth.rbac import Role
from api.keys import SETTINGS
from api.subscriptions.access import is_subscriber
from api.subscriptions.billing import RenewalReport, billing_from, renew_due
from api.subscriptions.model import Billing
from api.wallet.check import check_books
from tests.accounts import Account, Client
from tests.integration.wallet.conftest import fund
from tests.integration.wallet.test_wallet_api import assert_envelope, balance, key

ROOT_DIR = Path(__file__).resolve().parents[3]


async def make_tier(creator: Account, price: int, name: str = "Fan club") -> dict[str, Any]:
    reply = await creator.call(
        "POST", f"/api/v1/creators/{creator.id}/tiers", json={"name": name, "price": price}
    )
    assert reply.status == 201, reply.body
    return reply.data


async def subscribe(viewer: Account, creator: Account, tier: dict[str, Any], **kw: Any) -> Any:
    return await viewer.call(
        "POST",
        f"/api/v1/creators/{creator.id}/subscribe",
        json={"tierId": tier["id"]},
        headers=kw.pop("headers", None) or key(),
    )


async def subscribed(server, viewer: Account, creator: Account, price: int) -> str:
    tier = await make_tier(creator, price)
    reply = await subscribe(viewer, creator, tier)
    assert reply.status == 201, reply.body
    return reply.data["subscriptionId"]


async def renew(server, billing: Billing | None = None) -> RenewalReport:
    return await renew_due(
        server.pool, server.ledger.book, billing or billing_from(server.app[SETTINGS])
    )


async def until_due(server, *subscription_ids: str) -> None:
    """Wait (on the database's clock) until every one of the subscriptions is due."""
    for sub_id in subscription_ids:
        while True:
            left = await server.pool.fetchval(
                "SELECT extract(epoch FROM next_attempt_at - clock_timestamp()) "
                "FROM subscriptions WHERE id = $1",
                uuid.UUID(sub_id),
            )
            if left <= 0:
                break
            await asyncio.sleep(float(left) + 0.01)


async def row(server, sub_id: str) -> Any:
    return await server.pool.fetchrow(
        "SELECT * FROM subscriptions WHERE id = $1", uuid.UUID(sub_id)
    )


async def charges(server, sub_id: str) -> list[tuple[int, int]]:
    """(period, price) of every charge of a subscription, with its ledger transaction checked."""
    rows = await server.pool.fetch(
        "SELECT c.period, c.price, t.kind, t.subscription_id, t.fee_schedule, "
        "(SELECT -sum(e.amount) FROM ledger_entries e WHERE e.tx_id = t.id AND e.amount < 0) "
        "AS paid FROM subscription_charges c JOIN ledger_transactions t ON t.id = c.tx_id "
        "WHERE c.subscription_id = $1 ORDER BY c.period",
        uuid.UUID(sub_id),
    )
    for r in rows:
        assert (r["kind"], str(r["subscription_id"]), r["paid"]) == (
            "subscription",
            sub_id,
            r["price"],
        )
        assert r["fee_schedule"] == "2026-12"
    return [(r["period"], r["price"]) for r in rows]


async def test_a_creator_keeps_tiers(wallet_server, member):
    creator, other, viewer = await member(Role.CREATOR), await member(Role.CREATOR), await member()
    base = f"/api/v1/creators/{creator.id}/tiers"
    gold = await make_tier(creator, 50, "Gold")
    silver = await make_tier(creator, 20, "Silver")
    assert gold["creatorId"] == str(creator.id) and gold["active"] is True
    retired = await creator.call("PATCH", f"{base}/{silver['id']}", json={"active": False})
    assert retired.status == 200 and retired.data["active"] is False
    anonymous = Client(wallet_server.base_url)
    try:
        public = await anonymous.call("GET", base)
        assert [t["name"] for t in public.data] == ["Gold"]
        assert_envelope(
            await anonymous.call("GET", f"/api/v1/creators/{uuid.uuid4()}/tiers"),
            404,
            "CREATOR_NOT_FOUND",
        )
        assert_envelope(await anonymous.call("POST", base, json={}), 401, "UNAUTHENTICATED")
    finally:
        await anonymous.close()
    mine = await creator.call("GET", base)
    assert [t["name"] for t in mine.data] == ["Silver", "Gold"]
    assert_envelope(
        await other.call("POST", base, json={"name": "x", "price": 1}), 403, "NOT_CREATOR"
    )
    assert_envelope(
        await other.call("PATCH", f"{base}/{gold['id']}", json={"price": 1}), 403, "NOT_CREATOR"
    )
    foreign = await make_tier(other, 5)
    assert_envelope(
        await creator.call("PATCH", f"{base}/{foreign['id']}", json={"price": 1}),
        403,
        "NOT_TIER_OWNER",
    )
    assert_envelope(
        await creator.call("PATCH", f"{base}/{uuid.uuid4()}", json={"price": 1}),
        404,
        "TIER_NOT_FOUND",
    )
    assert_envelope(
        await viewer.call(
            "POST", f"/api/v1/creators/{viewer.id}/tiers", json={"name": "x", "price": 1}
        ),
        403,
        "FORBIDDEN",
    )
    for bad in ({"name": "x", "price": 10.0}, {"name": "x", "price": 0}, {"name": "", "price": 5}):
        assert_envelope(await creator.call("POST", base, json=bad), 422, "VALIDATION_ERROR")


async def test_subscribing_charges_the_first_period_like_a_tip(wallet_server, member):
    creator, viewer, broke = await member(Role.CREATOR), await member(), await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    tier = await make_tier(creator, 30)
    headers = key()
    first = await subscribe(viewer, creator, tier, headers=headers)
    assert first.status == 201, first.body
    data = first.data
    assert (data["price"], data["balance"], data["feeSchedule"]) == (30, 70, "2026-12")
    assert data["split"] == {"creator": 24, "platform": 6, "referral": 0}
    again = await subscribe(viewer, creator, tier, headers=headers)
    assert (again.status, again.body) == (201, first.body)
    assert again.headers["Idempotent-Replayed"] == "true"
    other_tier = await make_tier(creator, 10, "Other")
    assert_envelope(
        await subscribe(viewer, creator, other_tier, headers=headers),
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )
    dup = await subscribe(viewer, creator, other_tier)
    assert_envelope(dup, 409, "ALREADY_SUBSCRIBED")
    assert dup.body["meta"]["subscriptionId"] == data["subscriptionId"]
    assert (await balance(viewer))["balance"] == 70
    assert (await balance(creator))["earnings"] == 24
    sub_id = data["subscriptionId"]
    assert await charges(wallet_server, sub_id) == [(0, 30)]
    assert await is_subscriber(wallet_server.pool, viewer.id, creator.id)
    assert not await is_subscriber(wallet_server.pool, broke.id, creator.id)

    # Every refusal, as an envelope; none of them charges anything.
    path = f"/api/v1/creators/{creator.id}/subscribe"
    no_key = await viewer.call("POST", path, json={"tierId": tier["id"]})
    assert_envelope(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    poor = await subscribe(broke, creator, tier, headers=(poor_key := key()))
    assert_envelope(poor, 402, "INSUFFICIENT_FUNDS")
    assert poor.body["meta"] == {"amount": 30, "balance": 0}
    await fund(wallet_server.ledger, broke.id, 100)
    replay = await subscribe(broke, creator, tier, headers=poor_key)  # the refusal is stored
    assert_envelope(replay, 402, "INSUFFICIENT_FUNDS")
    assert replay.body["requestId"] == poor.body["requestId"]
    assert_envelope(
        await creator.call("POST", path, json={"tierId": tier["id"]}, headers=key()),
        422,
        "CANNOT_SUBSCRIBE_SELF",
    )
    await creator.call(
        "PATCH", f"/api/v1/creators/{creator.id}/tiers/{other_tier['id']}", json={"active": False}
    )
    assert_envelope(await subscribe(broke, creator, other_tier), 409, "TIER_NOT_AVAILABLE")
    assert_envelope(
        await subscribe(broke, creator, {"id": str(uuid.uuid4())}), 404, "TIER_NOT_FOUND"
    )
    stranger = await member(Role.CREATOR)
    foreign = await make_tier(stranger, 5)
    assert_envelope(await subscribe(broke, creator, foreign), 404, "TIER_NOT_FOUND")
    assert_envelope(
        await broke.call(
            "POST",
            f"/api/v1/creators/{uuid.uuid4()}/subscribe",
            json={"tierId": tier["id"]},
            headers=key(),
        ),
        404,
        "CREATOR_NOT_FOUND",
    )
    for bad in ({"tierId": "nope"}, {}, {"tierId": tier["id"], "extra": 1}):
        assert_envelope(
            await broke.call("POST", path, json=bad, headers=key()), 422, "VALIDATION_ERROR"
        )
    assert (await balance(broke))["balance"] == 100

    # Mine, one of mine, the creator's view, the public count.
    mine = await viewer.call("GET", "/api/v1/subscriptions")
    assert [s["id"] for s in mine.data] == [sub_id] and mine.body["nextCursor"] is None
    assert mine.data[0]["state"] == "active" and mine.data[0]["pricePaid"] == 30
    one = await viewer.call("GET", f"/api/v1/subscriptions/{sub_id}")
    assert one.data["tier"]["price"] == 30 and one.data["creatorHandle"] == creator.handle
    assert (await creator.call("GET", f"/api/v1/subscriptions/{sub_id}")).status == 200
    assert_envelope(
        await broke.call("GET", f"/api/v1/subscriptions/{sub_id}"), 404, "SUBSCRIPTION_NOT_FOUND"
    )
    listing = await creator.call("GET", f"/api/v1/creators/{creator.id}/subscribers")
    assert [s["subscriberHandle"] for s in listing.data] == [viewer.handle]
    assert_envelope(
        await viewer.call("GET", f"/api/v1/creators/{creator.id}/subscribers"), 403, "NOT_CREATOR"
    )
    count = await broke.call("GET", f"/api/v1/creators/{creator.id}/subscribers/count")
    assert count.data == {"active": 1, "grace": 0, "total": 1}


async def test_my_subscriptions_page_by_cursor(wallet_server, member) -> None:
    viewer = await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    made = [
        await subscribed(wallet_server, viewer, await member(Role.CREATOR), 5) for _ in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await viewer.call("GET", f"/api/v1/subscriptions{query}")
        assert page.status == 200, page.body
        seen += [s["id"] for s in page.data]
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    for bad in ("?limit=0", "?limit=101", "?cursor=yesterday"):
        assert_envelope(
            await viewer.call("GET", f"/api/v1/subscriptions{bad}"), 422, "VALIDATION_ERROR"
        )


async def test_renewal_charges_each_period_at_the_price_of_the_day(wallet_server, member):
    creator, viewer = await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    tier = await make_tier(creator, 30)
    sub_id = (await subscribe(viewer, creator, tier)).data["subscriptionId"]
    before = await row(wallet_server, sub_id)
    changed = await creator.call(
        "PATCH", f"/api/v1/creators/{creator.id}/tiers/{tier['id']}", json={"price": 40}
    )
    assert changed.data["price"] == 40
    # The change waits for the renewal: nothing is charged or refunded now.
    assert (await balance(viewer))["balance"] == 70
    await until_due(wallet_server, sub_id)
    report = await renew(wallet_server)
    assert (uuid.UUID(sub_id), 1) in report.charged
    after = await row(wallet_server, sub_id)
    assert after["state"] == "active" and after["period"] == 1
    # On time, periods follow each other without a gap.
    assert after["current_period_start"] == before["current_period_end"]
    assert after["current_period_end"] - after["current_period_start"] == timedelta(seconds=2)
    assert await charges(wallet_server, sub_id) == [(0, 30), (1, 40)]
    assert (await balance(viewer))["balance"] == 30
    assert (await balance(creator))["earnings"] == 24 + 32
    mine = await viewer.call("GET", f"/api/v1/subscriptions/{sub_id}")
    assert (mine.data["pricePaid"], mine.data["period"]) == (40, 1)


async def test_cancel_keeps_access_to_the_period_end_and_charges_nothing_more(
    wallet_server, member
):
    creator, viewer, other = await member(Role.CREATOR), await member(), await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    sub_id = await subscribed(wallet_server, viewer, creator, 30)
    path = f"/api/v1/subscriptions/{sub_id}/cancel"
    assert_envelope(await other.call("POST", path), 404, "SUBSCRIPTION_NOT_FOUND")
    assert_envelope(await creator.call("POST", path), 403, "NOT_CREATOR")
    cancelled = await viewer.call("POST", path)
    assert cancelled.status == 200, cancelled.body
    assert cancelled.data["state"] == "active" and cancelled.data["cancelAtPeriodEnd"] is True
    assert cancelled.data["accessUntil"] == cancelled.data["currentPeriodEnd"]
    assert (await viewer.call("POST", path)).status == 200  # twice is not an error
    assert await is_subscriber(wallet_server.pool, viewer.id, creator.id)
    await until_due(wallet_server, sub_id)
    await renew(wallet_server)
    ended = await row(wallet_server, sub_id)
    assert ended["state"] == "ended" and ended["ended_at"] is not None
    assert not await is_subscriber(wallet_server.pool, viewer.id, creator.id)
    assert await charges(wallet_server, sub_id) == [(0, 30)]
    assert (await balance(viewer))["balance"] == 70
    count = await other.call("GET", f"/api/v1/creators/{creator.id}/subscribers/count")
    assert count.data["total"] == 0
    # Subscribing again starts a new subscription.
    assert (await subscribe(viewer, creator, await make_tier(creator, 10))).status == 201


async def test_an_unpaid_renewal_goes_to_grace_then_expires(wallet_server, member):
    creator, viewer = await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 30)
    sub_id = await subscribed(wallet_server, viewer, creator, 30)
    paid_end = (await row(wallet_server, sub_id))["current_period_end"]
    await until_due(wallet_server, sub_id)
    await renew(wallet_server)
    grace = await row(wallet_server, sub_id)
    assert grace["state"] == "grace" and grace["failed_attempts"] == 1
    assert grace["grace_until"] == paid_end + timedelta(seconds=3)
    assert grace["access_until"] == grace["grace_until"]
    assert await is_subscriber(wallet_server.pool, viewer.id, creator.id)  # still watching
    count = await viewer.call("GET", f"/api/v1/creators/{creator.id}/subscribers/count")
    assert count.data == {"active": 0, "grace": 1, "total": 1}
    attempts = 1
    while (await row(wallet_server, sub_id))["state"] == "grace":
        await until_due(wallet_server, sub_id)
        await renew(wallet_server)
        attempts += 1
        assert attempts < 20
    expired = await row(wallet_server, sub_id)
    assert expired["state"] == "expired" and expired["failed_attempts"] == attempts >= 2
    assert not await is_subscriber(wallet_server.pool, viewer.id, creator.id)
    assert await charges(wallet_server, sub_id) == [(0, 30)]
    assert (await balance(viewer))["balance"] == 0
    assert_envelope(
        await viewer.call("POST", f"/api/v1/subscriptions/{sub_id}/cancel"),
        409,
        "SUBSCRIPTION_NOT_ACTIVE",
    )


async def test_a_renewal_paid_in_grace_makes_it_active_again(wallet_server, member):
    creator, viewer = await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 30)
    sub_id = await subscribed(wallet_server, viewer, creator, 30)
    await until_due(wallet_server, sub_id)
    await renew(wallet_server)
    assert (await row(wallet_server, sub_id))["state"] == "grace"
    await fund(wallet_server.ledger, viewer.id, 50)
    await until_due(wallet_server, sub_id)
    report = await renew(wallet_server)
    assert (uuid.UUID(sub_id), 1) in report.charged
    again = await row(wallet_server, sub_id)
    assert again["state"] == "active" and again["grace_until"] is None
    assert again["failed_attempts"] == 0
    assert await charges(wallet_server, sub_id) == [(0, 30), (1, 30)]
    assert (await balance(viewer))["balance"] == 20


def renew_cli(dsn: str) -> subprocess.Popen[str]:
    """`teezu subscriptions renew` against the ledger's database, as its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "teezu.cli", "subscriptions", "renew"],
        env={
            **os.environ,
            "TEEZU_DATABASE_URL": dsn,
            "PYTHONPATH": str(ROOT_DIR),
            "TEEZU_SUBSCRIPTION_PERIOD_SECONDS": "3600",
        },
        cwd=ROOT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_renewal_passes_racing_charge_each_period_once(wallet_server, member, ledger_dsn):
    creator = await member(Role.CREATOR)
    tier = await make_tier(creator, 10)
    subs = []
    for _ in range(8):
        viewer = await member()
        await fund(wallet_server.ledger, viewer.id, 100)
        reply = await subscribe(viewer, creator, tier)
        subs.append(reply.data["subscriptionId"])
    await until_due(wallet_server, *subs)
    # Renewed periods last an hour here, so no subscription can fall due twice in this test.
    hour = Billing(period_seconds=3600, grace=timedelta(seconds=3), retry=timedelta(seconds=1))
    cli = [renew_cli(ledger_dsn)]
    reports = await asyncio.gather(*(renew(wallet_server, hour) for _ in range(4)))
    outputs = [await asyncio.to_thread(p.communicate, timeout=120) for p in cli]
    assert all(p.returncode == 0 for p in cli), outputs
    ours = {uuid.UUID(s) for s in subs}
    in_process = [c for r in reports for c in r.charged if c[0] in ours]
    assert len(in_process) == len(set(in_process))  # no period twice in this process
    for sub_id in subs:
        assert await charges(wallet_server, sub_id) == [(0, 10), (1, 10)]
    assert all(out.startswith("renewed ") for out, _ in outputs)
    assert (await balance(creator))["earnings"] == 8 * 2 * 8


async def test_subscriber_only_streams(wallet_server, member):
    creator, fan, stranger = await member(Role.CREATOR), await member(), await member()
    moderator = await member(Role.MODERATOR)
    await fund(wallet_server.ledger, fan.id, 30)
    made = await creator.call(
        "POST", "/api/v1/streams", json={"title": "Members", "visibility": "subscribers"}
    )
    assert made.status == 201, made.body
    stream = made.data["id"]
    tokens = f"/api/v1/streams/{stream}/playback-tokens"
    chat = f"/api/v1/streams/{stream}/chat"
    refused = await stranger.call("POST", tokens, json={})
    assert_envelope(refused, 403, "PLAYBACK_DENIED")
    assert refused.body["meta"] == {"visibility": "subscribers"}
    assert_envelope(await fan.call("POST", tokens, json={}), 403, "PLAYBACK_DENIED")
    assert_envelope(await fan.call("GET", chat), 403, "ROOM_FORBIDDEN")
    for allowed in (creator, moderator):
        assert (await allowed.call("POST", tokens, json={})).status == 201
    sub_id = await subscribed(wallet_server, fan, creator, 30)
    granted = await fan.call("POST", tokens, json={})
    assert granted.status == 201 and granted.data["viewerId"] == fan.id.hex
    assert (await fan.call("GET", chat)).status == 200
    # An unpaid renewal keeps the subscriber watching through grace, then not.
    await until_due(wallet_server, sub_id)
    await renew(wallet_server)
    assert (await row(wallet_server, sub_id))["state"] == "grace"
    assert (await fan.call("POST", tokens, json={})).status == 201
    while (await row(wallet_server, sub_id))["state"] == "grace":
        await until_due(wallet_server, sub_id)
        await renew(wallet_server)
    assert_envelope(await fan.call("POST", tokens, json={}), 403, "PLAYBACK_DENIED")
    assert_envelope(await stranger.call("GET", chat), 403, "ROOM_FORBIDDEN")


async def test_racing_subscribes_make_one_subscription(wallet_server, member):
    creator, viewer = await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 100)
    tier = await make_tier(creator, 10)
    other = await make_tier(creator, 20, "Other")
    same = key()
    replies = await asyncio.gather(
        *(subscribe(viewer, creator, tier, headers=same) for _ in range(5)),
        *(subscribe(viewer, creator, t) for t in (tier, other) * 3),
    )
    created = [r for r in replies if r.status == 201]
    assert {r.data["subscriptionId"] for r in created} == {created[0].data["subscriptionId"]}
    # Every retry of the one key got its first answer; every other attempt met the subscription.
    assert all(
        r.status == 409 and r.code == "ALREADY_SUBSCRIBED" for r in replies if r.status != 201
    )
    assert len({r.body["data"]["subscriptionId"] for r in replies[:5] if r.status == 201}) <= 1
    assert (await balance(viewer))["balance"] == 100 - created[0].data["price"]
    count = await wallet_server.pool.fetchval(
        "SELECT count(*) FROM subscriptions WHERE subscriber_id = $1", viewer.id
    )
    assert count == 1


async def test_a_chargeback_reverses_a_subscription_charge_like_a_tip(wallet_server, member):
    creator, viewer = await member(Role.CREATOR), await member()
    purchase = await fund(wallet_server.ledger, viewer.id, 50)
    sub_id = await subscribed(wallet_server, viewer, creator, 50)  # every token spent on it
    assert (await balance(creator))["earnings"] == 40
    async with wallet_server.pool.acquire() as conn, conn.transaction():
        assert await wallet_server.ledger.charge_back(conn, purchase) == "applied"
    reversal = await wallet_server.pool.fetchrow(
        "SELECT r.kind, r.fee_schedule, (r.memo->>'amount')::bigint AS amount "
        "FROM ledger_transactions r JOIN subscription_charges c ON c.tx_id = r.reverses "
        "WHERE c.subscription_id = $1",
        uuid.UUID(sub_id),
    )
    assert (reversal["kind"], reversal["fee_schedule"], reversal["amount"]) == (
        "tip_reversal",
        "2026-12",
        50,
    )
    assert (await balance(creator))["earnings"] == 0
    view = await balance(viewer)
    assert (view["balance"], view["debt"]) == (0, 0)
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems


async def test_the_books_balance_after_the_subscription_flows(wallet_server, member):
    """Last in the module, after every flow above (what `teezu ledger check` runs; its exit
    codes are test_ledger_check_cli.py's). One more subscription of its own, so it never
    checks empty books when run alone."""
    creator, viewer = await member(Role.CREATOR), await member()
    await fund(wallet_server.ledger, viewer.id, 20)
    await subscribed(wallet_server, viewer, creator, 20)
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems
    # Spent is net of chargeback reversals: the subscription charges less what was reversed.
    charged = await wallet_server.pool.fetchval("SELECT sum(price) FROM subscription_charges")
    assert charged >= 20 and report.spent > 0
