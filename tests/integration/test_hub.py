"""The admin hub: every view refreshed (CONCURRENTLY) and its numbers checked against a dataset
this test builds, the revenue view equal to `teezu ledger check`'s sums, RBAC on every hub
endpoint, bad filters answered 400 with the envelope, and CSV export."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
import pytest_asyncio

from api.analytics.views import VIEWS, refresh_all
from api.auth.rbac import Role
from api.routing import ROUTES
from api.wallet.check import check_books
from api.wallet.model import IdempotencyKey
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from tests.integration.wallet.conftest import ensure_user, fund, live_stream

pytestmark = pytest.mark.asyncio(loop_scope="session")

# The dataset's first day: long ago, and a day of its own (other tests of the shared database
# write rows "some days ago"; the views count every row of a day).
D = (datetime.now(UTC) - timedelta(days=4000 + secrets.randbelow(2000))).date()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


async def user(pool, created: datetime) -> uuid.UUID:
    uid = uuid.uuid4()
    handle = f"h{uid.hex[:20]}"
    await pool.execute(
        "INSERT INTO users (id, email, handle, password_hash, date_of_birth, created_at) "
        "VALUES ($1, $2, $3, '!', '1990-01-01', $4)",
        uid,
        f"{handle}@example.org",
        handle,
        created,
    )
    return uid


async def session(pool, stream, viewer, joined: datetime, seconds: float) -> None:
    await pool.execute(
        "INSERT INTO stream_viewers (id, stream_id, viewer_id, kind, country, joined_at, "
        "last_seen_at, left_at, watch_seconds) VALUES ($1, $2, $3, 'llhls', 'NL', $4, $5, $5, $6)",
        uuid.uuid4(),
        stream,
        viewer,
        joined,
        joined + timedelta(seconds=seconds),
        seconds,
    )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def dataset(server):
    """Four sign-ups on day D (three viewers and a creator), a one-hour broadcast on D with two
    overlapping viewers, a viewer back on D+8, two followers, tips today, a report opened on D
    and resolved (ban) a day later, and one left open for ten days."""
    pool = server.pool
    u1, u2, u3 = [await user(pool, at(D, 9)) for _ in range(3)]
    creator = await user(pool, at(D, 8))
    stream = uuid.uuid4()
    await pool.execute(
        "INSERT INTO streams (id, creator_handle, title, state, publish_token_hash, creator_id, "
        "mood, created_at) VALUES ($1, 'hub', 'Hub test', 'ended', '\\x00', $2, 'calm', $3)",
        stream,
        creator,
        at(D, 11),
    )
    await pool.execute(
        "INSERT INTO broadcasts (id, stream_id, run, recording, started_at, ended_at, "
        "duration_seconds) VALUES ($1, $2, 'abcdef01', false, $3, $4, 3600)",
        uuid.uuid4(),
        stream,
        at(D, 12),
        at(D, 13),
    )
    await session(pool, stream, u1, at(D, 12), 1800)
    await session(pool, stream, u2, at(D, 12, 10), 600)
    await session(pool, stream, u1, at(D + timedelta(days=8), 10), 100)
    for fan in (u1, u2):
        await pool.execute(
            "INSERT INTO follows (follower_id, creator_id) VALUES ($1, $2)", fan, creator
        )
    # Money today, through the real ledger: a purchase and tips on a live stream of the creator.
    ledger = server.app[LEDGER]
    tipper = uuid.uuid4()
    await ensure_user(pool, tipper)
    await fund(ledger, tipper, 500)
    live = await live_stream(pool, creator)
    for i in range(3):
        outcome = await ledger.tip(IdempotencyKey(tipper, f"hub-{i}"), TipRequest(live, 40))
        assert outcome.ok
    report = uuid.uuid4()
    await pool.execute(
        "INSERT INTO reports (id, reporter_id, target_type, target_id, subject_id, reason, "
        "created_at, status, resolution, resolved_at) "
        "VALUES ($1, $2, 'user', $3, $6, 'spam', $4, 'resolved', 'ban', $5)",
        report,
        u3,
        str(u2),
        at(D, 10),
        at(D + timedelta(days=1), 10),
        u2,
    )
    late = uuid.uuid4()
    await pool.execute(
        "INSERT INTO reports (id, reporter_id, target_type, target_id, reason, created_at) "
        "VALUES ($1, $2, 'stream', $3, 'other', now() - interval '10 days')",
        late,
        u3,
        str(stream),
    )
    took = await refresh_all(pool, wait=True)
    assert took is not None and set(took) == set(VIEWS)
    return {
        "users": (u1, u2, u3),
        "creator": creator,
        "stream": stream,
        "late_report": late,
        "tipper": tipper,
    }


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def admin(server):
    from tests.accounts import Account, create_user

    made = await create_user(server, frozenset({Role.ADMIN}))
    acct = Account(server.base_url, id=made.id, handle=made.handle, email=made.email)
    assert (await acct.login()).status == 200
    yield acct
    await acct.close()


def window(day: date, days: int = 1) -> str:
    return f"from={day.isoformat()}&to={(day + timedelta(days=days - 1)).isoformat()}"


async def test_growth(admin, dataset):
    reply = await admin.call("GET", f"/api/v1/admin/hub/growth?{window(D, 10)}")
    assert reply.status == 200, reply.body
    body = reply.data
    assert body["freshAt"] is not None
    days = {d["day"]: d for d in body["days"]}
    first = days[D.isoformat()]
    assert (first["signups"], first["dau"], first["wau"], first["mau"]) == (4, 2, 2, 2)
    assert first["creatorsLive"] == 1
    later = days[(D + timedelta(days=8)).isoformat()]
    # u2 was last active on D: in the week ending D+6, not D+8; in the month, still.
    assert (later["dau"], later["wau"], later["mau"]) == (1, 1, 2)
    assert days[(D + timedelta(days=7)).isoformat()]["wau"] == 0


async def test_retention(admin, dataset):
    reply = await admin.call("GET", f"/api/v1/admin/hub/retention?{window(D, 1)}")
    assert reply.status == 200, reply.body
    cohort_week = D - timedelta(days=D.weekday())
    (cohort,) = [c for c in reply.data["cohorts"] if c["cohort"] == cohort_week.isoformat()]
    assert cohort["size"] == 4
    back = (
        D + timedelta(days=8) - timedelta(days=(D + timedelta(days=8)).weekday()) - cohort_week
    ).days // 7
    expected = [0] * (back + 1)
    expected[0] = 2
    expected[back] = 1
    assert cohort["weeks"] == expected


async def test_streams_and_mood(admin, dataset):
    reply = await admin.call("GET", f"/api/v1/admin/hub/streams?{window(D, 1)}")
    assert reply.status == 200, reply.body
    (row,) = [s for s in reply.data["streams"] if s["streamId"] == str(dataset["stream"])]
    assert row["peakViewers"] == 2 and row["sessions"] == 3 and row["viewers"] == 2
    assert row["watchSeconds"] == 2500 and row["liveSeconds"] == 3600
    assert row["averageViewers"] == pytest.approx(2500 / 3600, abs=0.01)
    reply = await admin.call("GET", f"/api/v1/admin/hub/mood?{window(D, 1)}")
    assert reply.data["days"] == [
        {"day": D.isoformat(), "mood": "calm", "sessions": 2, "watchSeconds": 2400.0}
    ]


async def test_creators(admin, dataset, server):
    reply = await admin.call("GET", "/api/v1/admin/hub/creators?sort=followers&limit=500")
    assert reply.status == 200, reply.body
    (row,) = [c for c in reply.data["creators"] if c["creatorId"] == str(dataset["creator"])]
    earned = await server.pool.fetchval(
        "SELECT sum(e.amount) FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE a.kind = 'earnings' AND a.owner_id = $1",
        dataset["creator"],
    )
    assert row["earned"] == earned > 0
    assert row["followers"] == 2 and row["viewers"] == 2
    assert row["watchHours"] == pytest.approx(2500 / 3600, abs=0.001)
    assert row["conversion"] == 0.0  # the tipper never had a viewing session


async def test_community(admin, dataset):
    reply = await admin.call("GET", f"/api/v1/admin/hub/community?{window(D, 2)}")
    assert reply.status == 200, reply.body
    days = {d["day"]: d for d in reply.data["days"]}
    assert days[D.isoformat()]["reportsOpened"] == 1
    resolved = days[(D + timedelta(days=1)).isoformat()]
    assert resolved["reportsResolved"] == 1 and resolved["bans"] == 1
    assert resolved["hoursToResolve"] == pytest.approx(24.0)
    (late,) = [
        c for c in reply.data["openComplaints"] if c["reportId"] == str(dataset["late_report"])
    ]
    assert late["late"] and late["ageDays"] >= 10
    assert reply.data["late"] >= 1


async def test_revenue_equals_the_ledger_check(admin, dataset, server):
    first = await server.pool.fetchval(
        "SELECT min(created_at AT TIME ZONE 'UTC')::date FROM ledger_transactions"
    )
    today = datetime.now(UTC).date()
    await refresh_all(server.pool, wait=True)
    report = await check_books(server.pool)
    reply = await admin.call(
        "GET", f"/api/v1/admin/hub/revenue?from={first.isoformat()}&to={today.isoformat()}"
    )
    assert reply.status == 200, reply.body
    totals = reply.data["totals"]
    assert report.bought > 0 and report.spent > 0
    assert totals["purchases"] == report.bought
    assert totals["spent"] == report.spent
    assert totals["refunds"] + totals["chargebacks"] == report.refunded
    assert totals["payouts"] == report.paid_out
    assert totals["tips"] >= 120  # the dataset's three tips of 40
    assert sum(d["purchases"] for d in reply.data["days"]) == report.bought


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("period=2w", "INVALID_PERIOD"),
        ("period=30d&from=2026-01-01", "INVALID_PERIOD"),
        ("from=2026-03-01&to=2026-02-01", "INVALID_RANGE"),
        ("to=0001-01-01", "INVALID_RANGE"),  # no 30 days before it (was a 500)
        ("from=2000-01-01&to=2026-01-01", "RANGE_TOO_LARGE"),
    ],
)
async def test_bad_filters_are_400_with_the_envelope(admin, query, code):
    for path in ("growth", "revenue", "streams", "community"):
        reply = await admin.call("GET", f"/api/v1/admin/hub/{path}?{query}")
        assert reply.status == 400, (path, reply.body)
        assert reply.body["status"] == "error" and reply.body["code"] == code
        assert reply.body["requestId"]


async def test_csv_export(admin, dataset):
    reply = await admin.call("GET", f"/api/v1/admin/hub/growth?{window(D, 3)}&format=csv")
    assert reply.status == 200
    rows = list(csv.DictReader(io.StringIO(reply.body.decode())))
    assert [r["day"] for r in rows] == [(D + timedelta(days=i)).isoformat() for i in range(3)]
    assert rows[0]["signups"] == "4"


HUB_PATHS = [
    f"/api/v1/admin/hub/{name}"
    for name in (
        "ai",
        "community",
        "creators",
        "errors",
        "growth",
        "mood",
        "retention",
        "revenue",
        "streams",
    )
]


async def test_ai_activity_counts_real_requests_and_refusals(server, account, admin):
    """Requests to the AI features (served for real: the DNA quiz) are noted by the node,
    written in a batch, and counted per day in hub_ai_daily; a role without AI tools is a
    refusal. A day of the test's own checks the latency percentiles exactly."""
    from api.analytics.ai_activity import AI_ACTIVITY

    pool = server.pool
    member, viewer = await account(Role.MEMBER), await account(Role.VIEWER)
    for _ in range(3):
        assert (await member.call("GET", "/api/v1/ai/dna/quiz")).status == 200
    assert (await viewer.call("GET", "/api/v1/ai/dna/quiz")).status == 403
    assert (await member.call("GET", "/api/v1/streams")).status == 200  # not an AI feature
    written = await server.app[AI_ACTIVITY].flush(pool)
    assert written >= 4
    day = D + timedelta(days=3)
    await pool.executemany(
        "INSERT INTO ai_requests (at, feature, status, latency_ms, refused) "
        "VALUES ($1, 'test_feature', $2, $3, $4)",
        [(at(day, 10), 200, float(ms), False) for ms in (10, 20, 30, 40)]
        + [(at(day, 11), 403, 1.0, True)],
    )
    await refresh_all(pool, wait=True)
    today = datetime.now(UTC).date()
    r = await admin.call("GET", f"/api/v1/admin/hub/ai?{window(today)}")
    assert r.status == 200 and r.data["freshAt"] is not None
    quiz = [d for d in r.data["days"] if d["feature"] == "get_quiz"]
    assert len(quiz) == 1 and quiz[0]["requests"] >= 4 and quiz[0]["refusals"] >= 1
    assert all(d["feature"] != "list_streams" for d in r.data["days"])
    r = await admin.call("GET", f"/api/v1/admin/hub/ai?{window(day)}")
    assert r.data["days"] == [
        {
            "day": day.isoformat(),
            "feature": "test_feature",
            "requests": 5,
            "refusals": 1,
            "errors": 0,
            "escalations": 0,
            "p50Ms": 20.0,
            "p95Ms": round(40 - 0.2 * (40 - 30), 1),  # percentile_cont over 1, 10, 20, 30, 40
        }
    ]


async def test_every_hub_endpoint_is_checked(server):
    served = sorted(r.path for r in server.app[ROUTES] if r.path.startswith("/api/v1/admin/hub/"))
    assert served == HUB_PATHS


@pytest.mark.parametrize("path", HUB_PATHS)
async def test_rbac_on_every_hub_endpoint(server, account, admin, path):
    from tests.accounts import Client

    anonymous = Client(server.base_url)
    try:
        assert (await anonymous.call("GET", path)).status == 401
    finally:
        await anonymous.close()
    for role in (Role.MEMBER, Role.CREATOR, Role.MODERATOR):
        who = await account(role)
        reply = await who.call("GET", path)
        assert reply.status == 403 and reply.body["code"] == "FORBIDDEN", (role, reply.body)
    assert (await admin.call("GET", path)).status == 200
    boss = await account(Role.SUPER_ADMIN)
    assert (await boss.call("GET", path)).status == 200
