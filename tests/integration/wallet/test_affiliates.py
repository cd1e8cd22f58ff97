"""Affiliates: a referral link's first touch is attributed at sign-up, the referrer earns the
referral share of the referred creator's fee splits, the stats equal the ledger, and the tokens
cash out through the payout flow; self-referrals and unknown codes are refused with nothing
written; `teezu ledger check` passes afterwards."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from api.auth.rbac import Role
from api.wallet.check import check_books
from api.wallet.model import IdempotencyKey
from api.wallet.tips import TipRequest
from tests.accounts import PASSWORD, Client, unique_handle
from tests.integration.wallet.conftest import assert_envelope, fund, key, live_stream, shift

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _signup(email: str, **extra: str) -> dict[str, str]:
    return {
        "email": email,
        "handle": unique_handle("aff"),
        "password": PASSWORD,
        "dateOfBirth": "1990-05-05",
        **extra,
    }


async def _users_with(pool, email: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM users WHERE email = $1", email.lower()))


async def test_referral_to_stats_to_payout(wallet_server, member, payouts):
    pool = wallet_server.pool
    referrer = await member()
    rival = await member()
    r = await referrer.call("POST", "/api/v1/affiliates/code")
    assert r.status == 200, r.body
    code = r.data["code"]
    assert r.data["link"].endswith(f"/r/{code}")
    assert (await referrer.call("POST", "/api/v1/affiliates/code")).data["code"] == code
    rival_code = (await rival.call("POST", "/api/v1/affiliates/code")).data["code"]

    # A visitor follows the referrer's link, then a rival's: the first touch counts.
    visitor = Client(wallet_server.base_url)
    try:
        r = await visitor.call("POST", "/api/v1/affiliates/clicks", json={"code": code.lower()})
        assert r.status == 200 and r.data["firstTouch"] is True, r.body
        r = await visitor.call("POST", "/api/v1/affiliates/clicks", json={"code": rival_code})
        assert r.status == 200 and r.data["firstTouch"] is False
        r = await visitor.call("POST", "/api/v1/affiliates/clicks", json={"code": "NOSUCH99"})
        assert_envelope(r, 404, "REFERRAL_CODE_NOT_FOUND")
        # ...and signs up typing the rival's code: the link still wins.
        email = f"{unique_handle('v')}@example.org"
        r = await visitor.call(
            "POST", "/api/v1/auth/signup", json=_signup(email, referralCode=rival_code)
        )
        assert r.status == 201, r.body
        creator_id = uuid.UUID(r.data["id"])
    finally:
        await visitor.close()
    row = await pool.fetchrow(
        "SELECT referrer_id, via FROM affiliate_referrals WHERE referred_id = $1", creator_id
    )
    assert (row["referrer_id"], row["via"]) == (referrer.id, "link")

    # The referred account becomes a creator and earns; the referrer gets the referral share.
    await pool.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, 'creator')", creator_id)
    await fund(wallet_server.ledger, creator_id, 5)  # the referred account's first purchase
    viewer = uuid.uuid4()
    await fund(wallet_server.ledger, viewer, 2300)
    stream = await live_stream(pool, creator_id)
    shares = []
    for amount in (1000, 999, 7):
        outcome = await wallet_server.ledger.tip_profile(
            IdempotencyKey(viewer, uuid.uuid4().hex), creator_id, amount
        )
        assert outcome.ok, outcome
        shares.append(outcome.data["split"]["referral"])
    outcome = await wallet_server.ledger.tip(
        IdempotencyKey(viewer, uuid.uuid4().hex), TipRequest(stream, 201)
    )
    assert outcome.ok, outcome
    shares.append(outcome.data["split"]["referral"])
    assert shares == [50, 49, 0, 10]  # 5 % of each, rounded down (the 2026-12 schedule)

    r = await referrer.call("GET", "/api/v1/affiliates/stats", params={"period": "7d"})
    assert r.status == 200, r.body
    stats = r.data
    assert (stats["code"], stats["clicks"], stats["signups"], stats["conversions"]) == (
        code,
        1,
        1,
        1,
    )
    # stats = ledger: the referral shares, and the referrer's earnings account's entries.
    ledger_total = await pool.fetchval(
        "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e "
        "JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE a.kind = 'earnings' AND a.owner_id = $1",
        referrer.id,
    )
    assert stats["earnings"] == sum(shares) == ledger_total == 109
    assert sum(p["earnings"] for p in stats["periods"]) == stats["earnings"]
    assert len(stats["periods"]) == 7
    today = date.today().isoformat()
    by_month = (
        await referrer.call(
            "GET", "/api/v1/affiliates/stats", params={"from": today, "to": today, "by": "month"}
        )
    ).data
    assert len(by_month["periods"]) == 1 and by_month["earnings"] == 109
    rival_stats = (await rival.call("GET", "/api/v1/affiliates/stats")).data
    assert (rival_stats["clicks"], rival_stats["signups"], rival_stats["earnings"]) == (0, 0, 0)

    # Bad ranges are the envelope's codes.
    r = await referrer.call(
        "GET", "/api/v1/affiliates/stats", params={"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert_envelope(r, 400, "INVALID_RANGE")
    r = await referrer.call("GET", "/api/v1/affiliates/stats", params={"by": "year"})
    assert_envelope(r, 422, "VALIDATION_ERROR")

    # The referrer (a member, not a creator) cashes out through the payout flow.
    shift(payouts, 31)
    r = await referrer.call("POST", "/api/v1/payouts", json={"amount": 100}, headers=key())
    assert r.status == 201, r.body
    outsider = await member()
    r = await outsider.call("POST", "/api/v1/payouts", json={"amount": 100}, headers=key())
    assert_envelope(r, 403, "NOT_A_CREATOR")
    after = (await referrer.call("GET", "/api/v1/affiliates/stats", params={"period": "7d"})).data
    assert after["earnings"] == 109  # a payout is not a referral earning undone

    report = await check_books(pool)
    assert report.ok, report.problems


async def test_self_referral_unknown_code_and_expired_link(wallet_server, member):
    pool = wallet_server.pool
    owner = await member()
    code = (await owner.call("POST", "/api/v1/affiliates/code")).data["code"]

    # The owner, signed in, signs up another account with their own code.
    email = f"{unique_handle('s')}@example.org"
    r = await owner.call("POST", "/api/v1/auth/signup", json=_signup(email, referralCode=code))
    assert_envelope(r, 422, "SELF_REFERRAL")
    assert await _users_with(pool, email) == 0
    # Their own mailbox under an alias.
    local, domain = owner.email.split("@")
    alias = f"{local.upper()}+second@{domain}"
    stranger = Client(wallet_server.base_url)
    try:
        r = await stranger.call(
            "POST", "/api/v1/auth/signup", json=_signup(alias, referralCode=code)
        )
        assert_envelope(r, 422, "SELF_REFERRAL")
        assert await _users_with(pool, alias) == 0
        r = await stranger.call(
            "POST", "/api/v1/auth/signup", json=_signup(email, referralCode="ZZZZZZZZ")
        )
        assert_envelope(r, 404, "REFERRAL_CODE_NOT_FOUND")
        r = await stranger.call(
            "POST", "/api/v1/auth/signup", json=_signup(email, referralCode="bad code!")
        )
        assert_envelope(r, 422, "VALIDATION_ERROR")
        assert await _users_with(pool, email) == 0

        # A link followed more than 30 days ago no longer counts.
        r = await stranger.call("POST", "/api/v1/affiliates/clicks", json={"code": code})
        assert r.data["firstTouch"] is True
        await pool.execute(
            "UPDATE affiliate_clicks SET clicked_at = now() - interval '31 days' "
            "WHERE owner_id = $1",
            owner.id,
        )
        r = await stranger.call("POST", "/api/v1/auth/signup", json=_signup(email))
        assert r.status == 201, r.body
        new_id = uuid.UUID(r.data["id"])
    finally:
        await stranger.close()
    assert not await pool.fetchval(
        "SELECT count(*) FROM affiliate_referrals WHERE referred_id = $1", new_id
    )
    viewer = await member(Role.VIEWER)
    r = await viewer.call("POST", "/api/v1/affiliates/code")
    assert_envelope(r, 403, "FORBIDDEN")
