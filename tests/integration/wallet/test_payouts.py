"""Payouts over HTTP with real accounts: earnings maturity (by a movable clock, never by
touching ledger rows), the request under the earnings account's lock (20 concurrent requests
never over-draw), admin approval and rejection exactly once, the refusals' envelope, and
`teezu ledger check` after every flow."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from api.auth.rbac import Role
from api.wallet.check import check_books
from api.wallet.payouts import Payouts
from tests.accounts import Account, Client
from tests.integration.wallet.conftest import (
    WalletServer,
    assert_envelope,
    earn,
    key,
    make_old,
    request,
    shift,
)


async def books_ok(server: WalletServer) -> None:
    report = await check_books(server.pool)
    assert report.ok, report.problems


async def earnings(acct: Client) -> dict[str, Any]:
    reply = await acct.call("GET", "/api/v1/creators/me/earnings")
    assert reply.status == 200, reply.body
    return reply.data


async def test_earnings_mature_after_the_hold_period_longer_for_new_creators(
    wallet_server, member, payouts
):
    newcomer = await member(Role.CREATOR)
    await earn(wallet_server, newcomer.id, 400)
    view = await earnings(newcomer)
    assert view == {
        "balance": 400,
        "immature": 400,
        "available": 0,
        "pending": 0,
        "paidOut": 0,
        "holdDays": 30,
        "payoutMin": 100,
    }
    refused = await request(newcomer, 200)
    assert_envelope(refused, 409, "INSUFFICIENT_MATURED_EARNINGS")
    assert refused.body["meta"] == {"amount": 200, "available": 0, "immature": 400, "holdDays": 30}

    shift(payouts, 8)  # past the 7-day hold, not past a new creator's 30 days
    assert (await earnings(newcomer))["available"] == 0
    shift(payouts, 31)
    view = await earnings(newcomer)
    assert (view["available"], view["immature"], view["holdDays"]) == (400, 0, 30)

    veteran = await member(Role.CREATOR)
    await make_old(wallet_server, veteran.id, 200)
    await earn(wallet_server, veteran.id, 400)
    shift(payouts, 6)
    view = await earnings(veteran)
    assert (view["available"], view["immature"], view["holdDays"]) == (0, 400, 7)
    shift(payouts, 8)
    assert (await earnings(veteran))["available"] == 400
    created = await request(veteran, 400)
    assert created.status == 201, created.body
    assert created.data["available"] == 0
    assert created.data["payout"]["state"] == "pending"
    view = await earnings(veteran)
    assert (view["balance"], view["available"], view["pending"]) == (0, 0, 400)
    await books_ok(wallet_server)


async def test_a_reversal_reduces_available_earnings_at_once(wallet_server, member, payouts):
    creator = await member(Role.CREATOR)
    await make_old(wallet_server, creator.id, 200)
    await earn(wallet_server, creator.id, 400)
    first = await wallet_server.pool.fetchval(
        "SELECT max(t.created_at) FROM ledger_transactions t JOIN ledger_entries e "
        "ON e.tx_id = t.id JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE a.kind = 'earnings' AND a.owner_id = $1",
        creator.id,
    )
    fresh = await earn(wallet_server, creator.id, 200)
    # "Now" is 7 days after the first tip: it has matured, the second (later) one has not.
    payouts.clock = lambda: first + timedelta(days=7, microseconds=1)
    view = await earnings(creator)
    assert (view["balance"], view["immature"], view["available"]) == (600, 200, 400)
    async with wallet_server.pool.acquire() as conn, conn.transaction():
        assert await wallet_server.ledger.charge_back(conn, fresh) == "applied"
    view = await earnings(creator)
    # available = matured - reversals: the reversal counts at once, though its tip had not
    # matured yet.
    assert (view["balance"], view["immature"], view["available"]) == (400, 200, 200)
    # Reversals of matured earnings count at once as well.
    shift(payouts, 20)
    assert (await earnings(creator))["available"] == 400
    await books_ok(wallet_server)


async def test_twenty_concurrent_requests_never_overdraw(wallet_server, member, payouts):
    creator = await member(Role.CREATOR)
    await make_old(wallet_server, creator.id, 200)
    await earn(wallet_server, creator.id, 1000)
    shift(payouts, 8)
    replies = await asyncio.gather(*(request(creator, 150) for _ in range(20)))
    ok = [r for r in replies if r.status == 201]
    refused = [r for r in replies if r.status != 201]
    assert len(ok) == 6  # 6 x 150 = 900 <= 1000 < 7 x 150
    for r in refused:
        assert_envelope(r, 409, "INSUFFICIENT_MATURED_EARNINGS")
        assert r.body["meta"]["available"] == 100
    view = await earnings(creator)
    assert (view["balance"], view["available"], view["pending"]) == (100, 100, 900)
    await books_ok(wallet_server)


async def test_refusals_use_the_envelope(wallet_server, member, payouts):
    viewer = await member()
    assert_envelope(await request(viewer, 500), 403, "NOT_A_CREATOR")
    creator = await member(Role.CREATOR)
    assert_envelope(await request(creator, 99), 422, "PAYOUT_BELOW_MINIMUM")
    assert_envelope(await request(creator, 150.0), 422, "VALIDATION_ERROR")
    assert_envelope(await request(creator, "150"), 422, "VALIDATION_ERROR")
    no_key = await creator.call("POST", "/api/v1/payouts", json={"amount": 150})
    assert_envelope(no_key, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert_envelope(await request(creator, 150), 409, "INSUFFICIENT_MATURED_EARNINGS")
    anonymous = Client(wallet_server.base_url)
    try:
        assert_envelope(await request(anonymous, 150), 401, "UNAUTHENTICATED")
    finally:
        await anonymous.close()


async def test_a_retry_replays_the_request_and_moves_nothing(wallet_server, member, payouts):
    creator = await member(Role.CREATOR)
    await make_old(wallet_server, creator.id, 200)
    await earn(wallet_server, creator.id, 400)
    shift(payouts, 8)
    same = key()
    first = await request(creator, 300, same)
    again = await request(creator, 300, same)
    assert first.status == again.status == 201
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    other = await request(creator, 100, same)
    assert_envelope(other, 422, "IDEMPOTENCY_KEY_REUSED")
    assert (await earnings(creator))["pending"] == 300


async def pending_payout(
    server: WalletServer, member: Any, payouts: Payouts, amount: int
) -> tuple[Account, dict[str, Any]]:
    creator = await member(Role.CREATOR)
    await make_old(server, creator.id, 200)
    await earn(server, creator.id, amount)
    shift(payouts, 8)
    reply = await request(creator, amount)
    assert reply.status == 201, reply.body
    return creator, reply.data["payout"]


async def test_admins_approve_or_reject_each_payout_exactly_once(wallet_server, member, payouts):
    payouts.reserve_bps = 250  # 2.5% withheld into the chargeback reserve
    admin = await member(Role.ADMIN)
    creator, paid = await pending_payout(wallet_server, member, payouts, 1000)
    other, back = await pending_payout(wallet_server, member, payouts, 400)

    for role in (Role.CREATOR, Role.MODERATOR, Role.MEMBER):
        outsider = await member(role)
        r = await outsider.call("POST", f"/api/v1/admin/payouts/{paid['id']}/approve", json={})
        assert_envelope(r, 403, "FORBIDDEN")
        assert_envelope(await outsider.call("GET", "/api/v1/admin/payouts"), 403, "FORBIDDEN")

    reserve_before = await wallet_server.pool.fetchval(
        "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id = e.account_id WHERE a.kind = 'chargeback_reserve'"
    )
    approved = await admin.call(
        "POST", f"/api/v1/admin/payouts/{paid['id']}/approve", json={"note": "sent by bank"}
    )
    assert approved.status == 200, approved.body
    assert approved.data["state"] == "approved"
    assert (approved.data["withheld"], approved.data["paid"]) == (25, 975)
    assert approved.data["decidedBy"] == str(admin.id) and approved.data["settleTx"]
    again = await admin.call("POST", f"/api/v1/admin/payouts/{paid['id']}/approve", json={})
    assert again.status == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.data == approved.data
    late = await admin.call("POST", f"/api/v1/admin/payouts/{paid['id']}/reject", json={})
    assert_envelope(late, 409, "PAYOUT_NOT_PENDING")
    assert late.body["meta"]["state"] == "approved"
    reserve_after = await wallet_server.pool.fetchval(
        "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id = e.account_id WHERE a.kind = 'chargeback_reserve'"
    )
    assert reserve_after - reserve_before == 25
    view = await earnings(creator)
    assert (view["balance"], view["pending"], view["paidOut"]) == (0, 0, 1000)

    rejected = await admin.call("POST", f"/api/v1/admin/payouts/{back['id']}/reject", json={})
    assert rejected.status == 200 and rejected.data["state"] == "rejected"
    assert rejected.data["withheld"] is None and rejected.data["paid"] is None
    view = await earnings(other)
    assert (view["balance"], view["available"], view["pending"]) == (400, 400, 0)

    missing = await admin.call("POST", f"/api/v1/admin/payouts/{uuid.uuid4()}/approve", json={})
    assert_envelope(missing, 404, "PAYOUT_NOT_FOUND")
    await books_ok(wallet_server)

    log = await admin.call("GET", "/api/v1/admin/audit-log?limit=50")
    actions = {(e["action"], e["target"]) for e in log.data}
    assert ("admin.payout.approved", f"payout:{paid['id']}") in actions
    assert ("admin.payout.rejected", f"payout:{back['id']}") in actions


async def test_concurrent_decisions_settle_a_payout_once(wallet_server, member, payouts):
    admin_a, admin_b = await member(Role.ADMIN), await member(Role.SUPER_ADMIN)
    for _ in range(3):
        creator, payout = await pending_payout(wallet_server, member, payouts, 200)
        path = f"/api/v1/admin/payouts/{payout['id']}"
        replies = await asyncio.gather(
            admin_a.call("POST", f"{path}/approve", json={}),
            admin_b.call("POST", f"{path}/reject", json={}),
            admin_a.call("POST", f"{path}/approve", json={}),
        )
        winners = {r.data["state"] for r in replies if r.status == 200}
        assert len(winners) == 1, [r.body for r in replies]
        for r in replies:
            if r.status != 200:
                assert_envelope(r, 409, "PAYOUT_NOT_PENDING")
        settled = await wallet_server.pool.fetchval(
            "SELECT count(*) FROM ledger_transactions "
            "WHERE memo->>'payoutId' = $1 AND kind IN ('payout_capture', 'payout_release')",
            payout["id"],
        )
        assert settled == 1
        view = await earnings(creator)
        assert view["balance"] == (200 if winners == {"rejected"} else 0)
    await books_ok(wallet_server)


async def test_the_approval_queue_is_paginated_oldest_first(wallet_server, member, payouts) -> None:
    admin = await member(Role.ADMIN)
    made = [(await pending_payout(wallet_server, member, payouts, 100))[1]["id"] for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        query = "?status=pending&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await admin.call("GET", f"/api/v1/admin/payouts{query}")
        assert page.status == 200, page.body
        assert all(p["state"] == "pending" for p in page.data)
        seen += [p["id"] for p in page.data]
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    positions = [seen.index(i) for i in made]
    assert positions == sorted(positions)  # oldest first
    bad = await admin.call("GET", "/api/v1/admin/payouts?status=paid")
    assert_envelope(bad, 422, "VALIDATION_ERROR")
    creator_list = await admin.call("GET", "/api/v1/payouts")
    assert creator_list.status == 200 and creator_list.data == []
