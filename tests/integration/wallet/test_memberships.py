"""Member tiers and Creator+ over HTTP with real accounts and the real ledger: joining charges
the platform, renewals charge each period exactly once (and grace/expiry without tokens),
cancelling, and what each plan changes (the DM allowance per tier, Member+'s AI tools for
plus and above, the badge on a chat message, Creator+'s subscription tiers). Books balance
afterwards (`teezu ledger check`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from api.auth.rbac import Role
from api.keys import SETTINGS
from api.memberships.billing import renew_due
from api.memberships.plans import FREE_DM_PER_DAY, FREE_SUBSCRIPTION_TIERS, PLANS, PlanId
from api.subscriptions.billing import billing_from
from api.wallet.check import check_books
from tests.accounts import Account
from tests.chatclient import ChatClient
from tests.integration.wallet.conftest import fund, live_stream
from tests.integration.wallet.test_wallet_api import assert_envelope, balance, key


async def join(acct: Account, plan: str, headers: dict[str, str] | None = None) -> Any:
    return await acct.call(
        "POST", "/api/v1/memberships", json={"plan": plan}, headers=headers or key()
    )


async def member_on(server, make, plan: str, *roles: Role) -> Account:
    """A signed-in account on ``plan`` (funded for exactly one period)."""
    acct = await make(*roles)
    await fund(server.ledger, acct.id, PLANS[PlanId(plan)].price)
    reply = await join(acct, plan)
    assert reply.status == 201, reply.body
    return acct


async def until_due(server, membership_id: str) -> None:
    while True:
        left = await server.pool.fetchval(
            "SELECT extract(epoch FROM next_attempt_at - clock_timestamp()) FROM memberships "
            "WHERE id = $1",
            uuid.UUID(membership_id),
        )
        if left <= 0:
            return
        await asyncio.sleep(float(left) + 0.01)


async def test_plans_are_data_anyone_reads(wallet_server, member):
    acct = await member()
    reply = await acct.call("GET", "/api/v1/memberships/plans")
    assert reply.status == 200
    by_id = {p["id"]: p for p in reply.data}
    assert list(by_id) == ["basic", "plus", "premium", "elite", "creator_plus"]
    assert by_id["plus"]["grantsRoles"] == ["member_plus"] and by_id["basic"]["grantsRoles"] == []
    assert by_id["elite"]["dmPerDay"] is None and by_id["creator_plus"]["kind"] == "creator"


async def test_joining_charges_the_platform_once_per_key(wallet_server, member):
    acct = await member()
    await fund(wallet_server.ledger, acct.id, 200)
    same = key()
    first, again = await join(acct, "plus", same), await join(acct, "plus", same)
    assert first.status == again.status == 201, first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.data == again.data and first.data["price"] == 150
    assert (await balance(acct))["balance"] == 50
    tx = await wallet_server.pool.fetchrow(
        "SELECT kind, fee_schedule FROM ledger_transactions WHERE id = $1",
        first.data["transactionId"],
    )
    assert (tx["kind"], tx["fee_schedule"]) == ("membership", None)
    # one live member plan at a time; Creator+ only for creators
    assert_envelope(await join(acct, "basic"), 409, "ALREADY_MEMBER")
    assert_envelope(await join(acct, "creator_plus"), 403, "PLAN_NOT_AVAILABLE")
    poor = await member()
    assert_envelope(await join(poor, "elite"), 402, "INSUFFICIENT_FUNDS")
    assert (
        await wallet_server.pool.fetchval(
            "SELECT count(*) FROM memberships WHERE user_id = $1", poor.id
        )
        == 0
    )
    assert_envelope(
        await acct.call("POST", "/api/v1/memberships", json={"plan": "gold"}, headers=key()),
        422,
        "VALIDATION_ERROR",
    )


async def test_renewals_charge_each_period_once_then_grace_and_expiry(wallet_server, member):
    acct = await member()
    await fund(wallet_server.ledger, acct.id, 100)  # two periods of basic
    joined = await join(acct, "basic")
    mid = joined.data["membershipId"]
    billing = billing_from(wallet_server.app[SETTINGS])
    await until_due(wallet_server, mid)
    passes = await asyncio.gather(
        *(renew_due(wallet_server.pool, wallet_server.ledger.book, billing) for _ in range(4))
    )
    assert sum(1 for r in passes for c in r.charged if str(c[0]) == mid) == 1
    assert (await balance(acct))["balance"] == 0
    await until_due(wallet_server, mid)
    await renew_due(wallet_server.pool, wallet_server.ledger.book, billing)
    state = await wallet_server.pool.fetchval(
        "SELECT state FROM memberships WHERE id = $1", uuid.UUID(mid)
    )
    assert state == "grace"  # the third period could not be paid: still a member meanwhile
    mine = await acct.call("GET", "/api/v1/memberships")
    assert mine.data["unlocked"]["plans"] == ["basic"]
    while state == "grace":
        await until_due(wallet_server, mid)
        await renew_due(wallet_server.pool, wallet_server.ledger.book, billing)
        state = await wallet_server.pool.fetchval(
            "SELECT state FROM memberships WHERE id = $1", uuid.UUID(mid)
        )
    assert state == "expired"
    mine = await acct.call("GET", "/api/v1/memberships")
    assert mine.data["unlocked"]["plans"] == [] and mine.data["unlocked"]["badges"] == []
    charged = await wallet_server.pool.fetch(
        "SELECT period, price FROM membership_charges WHERE membership_id = $1 ORDER BY period",
        uuid.UUID(mid),
    )
    assert [(c["period"], c["price"]) for c in charged] == [(0, 50), (1, 50)]


async def test_cancel_stops_renewal(wallet_server, member):
    acct = await member_on(wallet_server, member, "premium")
    mid = (await acct.call("GET", "/api/v1/memberships")).data["memberships"][0]["id"]
    other = await member()
    assert_envelope(
        await other.call("POST", f"/api/v1/memberships/{mid}/cancel"), 404, "MEMBERSHIP_NOT_FOUND"
    )
    cancelled = await acct.call("POST", f"/api/v1/memberships/{mid}/cancel")
    assert cancelled.status == 200 and cancelled.data["cancelAtPeriodEnd"] is True
    assert (await acct.call("POST", f"/api/v1/memberships/{mid}/cancel")).status == 200
    await fund(wallet_server.ledger, acct.id, 1000)
    await until_due(wallet_server, mid)
    billing = billing_from(wallet_server.app[SETTINGS])
    await renew_due(wallet_server.pool, wallet_server.ledger.book, billing)
    row = await wallet_server.pool.fetchrow(
        "SELECT state, period FROM memberships WHERE id = $1", uuid.UUID(mid)
    )
    assert (row["state"], row["period"]) == ("ended", 0)
    assert (await balance(acct))["balance"] == 1000  # nothing more charged


async def _open_conversation(sender: Account, recipient: Account) -> str:
    reply = await sender.call("POST", "/api/v1/conversations", json={"handle": recipient.handle})
    assert reply.status in (200, 201), reply.body
    return reply.data["id"]


@pytest.mark.parametrize("plan", [None, "basic", "plus", "premium", "elite"])
async def test_each_tier_has_its_dm_allowance(wallet_server, member, plan):
    """The allowance is counted over 24 hours: the day's earlier messages are written
    directly (one short of the limit), then the API takes one more and refuses the next."""
    sender = await (member_on(wallet_server, member, plan) if plan else member())
    recipient = await member()
    cid = await _open_conversation(sender, recipient)
    limit = PLANS[PlanId(plan)].dm_per_day if plan else FREE_DM_PER_DAY
    earlier = (limit - 1) if limit is not None else 2000
    await wallet_server.pool.execute(
        "INSERT INTO messages (id, conversation_id, sender_id, body) "
        "SELECT gen_random_uuid(), $1, $2, 'earlier' FROM generate_series(1, $3)",
        uuid.UUID(cid),
        sender.id,
        earlier,
    )
    path = f"/api/v1/conversations/{cid}/messages"
    assert (await sender.call("POST", path, json={"text": "one more"})).status == 201
    over = await sender.call("POST", path, json={"text": "too many"})
    if limit is None:
        assert over.status == 201, over.body  # elite: unlimited
    else:
        assert_envelope(over, 429, "DM_LIMIT_REACHED")
        assert over.body["meta"]["limit"] == limit
        assert (
            await wallet_server.pool.fetchval(
                "SELECT count(*) FROM messages WHERE sender_id = $1 AND body = 'too many'",
                sender.id,
            )
            == 0
        )


async def test_creators_dms_are_not_counted(wallet_server, member):
    creator, fan = await member(Role.CREATOR), await member()
    cid = await _open_conversation(creator, fan)
    await wallet_server.pool.execute(
        "INSERT INTO messages (id, conversation_id, sender_id, body) "
        "SELECT gen_random_uuid(), $1, $2, 'x' FROM generate_series(1, $3)",
        uuid.UUID(cid),
        creator.id,
        FREE_DM_PER_DAY + 5,
    )
    reply = await creator.call("POST", f"/api/v1/conversations/{cid}/messages", json={"text": "hi"})
    assert reply.status == 201


@pytest.mark.parametrize(
    ("plan", "member_plus"), [("basic", False), ("plus", True), ("elite", True)]
)
async def test_plus_and_above_grant_member_plus_ai_tools(wallet_server, member, plan, member_plus):
    """``ai.full`` (Member+ in the matrix) opens with plus: the route then answers for the
    body (an invalid country code) instead of refusing the caller."""
    acct = await member_on(wallet_server, member, plan)
    reply = await acct.call("POST", "/api/v1/ai/match-suggestions", json={"countries": ["nl"]})
    if member_plus:
        assert reply.status != 403, reply.body
    else:
        assert_envelope(reply, 403, "FORBIDDEN")
    mine = await acct.call("GET", "/api/v1/memberships")
    assert mine.data["unlocked"]["aiLevel"] == PLANS[PlanId(plan)].ai_level


async def test_the_badge_is_on_the_chat_name(wallet_server, member):
    creator = await member(Role.CREATOR)
    stream = await live_stream(wallet_server.pool, creator.id)
    for plan, badges in (("elite", ["elite"]), (None, None)):
        acct = await (member_on(wallet_server, member, plan) if plan else member())
        client = await ChatClient().connect(
            wallet_server.base_url, {"Cookie": f"session={acct.cookie()}"}
        )
        try:
            assert (await client.join(str(stream)))["ok"]
            ack = await client.send(str(stream), f"hello from {plan}")
            assert ack["ok"], ack
            assert ack["message"]["user"].get("badges") == badges
        finally:
            await client.close()


async def test_creator_plus_keeps_more_subscription_tiers(wallet_server, member):
    async def add_tiers(creator: Account, n: int) -> list[int]:
        out = []
        for i in range(n):
            reply = await creator.call(
                "POST",
                f"/api/v1/creators/{creator.id}/tiers",
                json={"name": f"T{i}", "price": 10 + i},
            )
            out.append(reply.status)
        return out

    plain = await member(Role.CREATOR)
    statuses = await add_tiers(plain, FREE_SUBSCRIPTION_TIERS + 1)
    assert statuses == [201] * FREE_SUBSCRIPTION_TIERS + [409]
    plus = await member_on(wallet_server, member, "creator_plus", Role.CREATOR)
    assert await add_tiers(plus, FREE_SUBSCRIPTION_TIERS + 1) == [201] * (
        FREE_SUBSCRIPTION_TIERS + 1
    )
    mine = await plus.call("GET", "/api/v1/memberships")
    assert mine.data["unlocked"]["badges"] == ["creator+"]


async def test_the_books_balance_after_membership_flows(wallet_server, member):
    await member_on(wallet_server, member, "plus")
    report = await check_books(wallet_server.pool)
    assert report.ok, report.problems
    assert report.spent >= 150
