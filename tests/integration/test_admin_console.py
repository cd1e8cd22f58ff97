"""The admin console's API: the user list, fee schedules, a stream's billing kill switch, and a
member's "decisions about me" (statement of reasons). Each with its RBAC refusals (every role
the matrix does not grant the permission to, asked here explicitly) and its bad input."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.auth.rbac import Permission, Role, roles_with
from api.chat import store as chat_store
from api.reports import store as reports
from api.streams import store as streams
from api.wallet.model import HoldPurpose, IdempotencyKey
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from tests.integration.wallet.conftest import fund, live_stream

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _refused_to_all_but(account, client, permission, method, path, body=None):
    """Anonymous: 401; every role without ``permission``: 403 FORBIDDEN naming it."""
    anon = await client.call(method, path, json=body)
    assert (anon.status, anon.code) == (401, "UNAUTHENTICATED")
    for role in set(Role) - roles_with(permission):
        r = await (await account(role)).call(method, path, json=body)
        assert (r.status, r.code) == (403, "FORBIDDEN"), (role, path, r.body)
        assert r.body["meta"]["permission"] == str(permission)


async def test_user_list_searches_filters_and_pages(server, account, client):
    admin = await account(Role.ADMIN)
    tag = uuid.uuid4().hex[:6]
    made = [await account(Role.CREATOR, handle=f"zz{tag}_{i}", login=False) for i in range(3)]
    r = await admin.call("GET", f"/api/v1/admin/users?q=ZZ{tag}&limit=2")
    assert r.status == 200, r.body
    first = r.data
    assert [u["handle"] for u in first] == [made[2].handle, made[1].handle]  # newest first
    assert first[0]["roles"] == ["creator"] and first[0]["status"] == "active"
    assert "email" not in first[0]
    nxt = await admin.call(
        "GET", f"/api/v1/admin/users?q=zz{tag}&limit=2&cursor={r.body['nextCursor']}"
    )
    assert [u["handle"] for u in nxt.data] == [made[0].handle]
    # An email address finds its account exactly (and no part of one does).
    by_email = await admin.call("GET", f"/api/v1/admin/users?q={made[1].email.upper()}")
    assert [u["handle"] for u in by_email.data] == [made[1].handle]
    # LIKE's wildcards are taken literally (handles cannot hold a '%').
    wild = await admin.call("GET", "/api/v1/admin/users?q=%25")
    assert wild.status == 200 and all("%" in u["displayName"] for u in wild.data)
    # Filters: a role and a standing.
    mods = await admin.call("GET", f"/api/v1/admin/users?q=zz{tag}&role=moderator")
    assert mods.data == []
    await server.pool.execute("UPDATE users SET status = 'banned' WHERE id = $1", made[0].id)
    banned = await admin.call("GET", f"/api/v1/admin/users?q=zz{tag}&status=banned")
    assert [u["handle"] for u in banned.data] == [made[0].handle]
    # A role change from the list goes through the rank rule and the audit log.
    grant = await admin.call(
        "POST", f"/api/v1/admin/users/{made[1].handle}/roles", json={"role": "moderator"}
    )
    assert grant.status == 200 and "moderator" in grant.data["roles"]
    listed = await admin.call("GET", f"/api/v1/admin/users?q=zz{tag}&role=moderator")
    assert [u["roles"] for u in listed.data] == [["creator", "moderator"]]
    log = await admin.call("GET", f"/api/v1/admin/audit-log?subject={made[1].handle}")
    assert [e["action"] for e in log.data] == ["admin.role.granted"]
    for bad in ("cursor=nope", "role=emperor", "status=erased", "limit=0", "q=", "unknown=1"):
        r = await admin.call("GET", f"/api/v1/admin/users?{bad}")
        assert (r.status, r.code) == (422, "VALIDATION_ERROR"), (bad, r.body)
    await _refused_to_all_but(
        account, client, Permission.SYSTEM_CONFIG_LIMITED, "GET", "/api/v1/admin/users"
    )


async def test_fee_schedules_are_versioned_and_only_root_schedules_one(server, account, client):
    admin, root = await account(Role.ADMIN), await account(Role.SUPER_ADMIN)
    listed = await admin.call("GET", "/api/v1/admin/fee-schedules")
    assert listed.status == 200
    current = [s for s in listed.data if s["state"] == "current"]
    assert len(current) == 1 and current[0]["creatorBps"] + current[0]["platformBps"] == 10_000
    # Far ahead, so it never applies to the other tests' money in this session.
    version = f"t-{uuid.uuid4().hex[:8]}"
    when = datetime(2990, 1, 1, tzinfo=UTC) + timedelta(seconds=uuid.uuid4().int % 10**8)
    new = {
        "version": version,
        "platformBps": 2500,
        "referralBps": 500,
        "effectiveFrom": when.isoformat(),
    }
    r = await admin.call("POST", "/api/v1/admin/fee-schedules", json=new)
    assert (r.status, r.code) == (403, "FORBIDDEN")
    r = await root.call("POST", "/api/v1/admin/fee-schedules", json=new)
    assert r.status == 201, r.body
    assert r.data == {
        "version": version,
        "creatorBps": 7500,
        "platformBps": 2500,
        "referralBps": 500,
        "platformRounding": "ceil",
        "effectiveFrom": r.data["effectiveFrom"],
        "state": "scheduled",
    }
    assert datetime.fromisoformat(r.data["effectiveFrom"]) == when
    # Money moved now keeps the schedule in force (the next one is known, centuries ahead).
    ledger, payer = server.app[LEDGER], uuid.uuid4()
    await fund(ledger, payer, 10)
    server.app[LEDGER].book._current = None  # as after the cache's TTL
    tipped = await ledger.tip(
        IdempotencyKey(payer, uuid.uuid4().hex),
        TipRequest(await live_stream(server.pool, uuid.uuid4()), 10),
    )
    assert tipped.ok and tipped.data["feeSchedule"] == current[0]["version"], tipped
    again = await admin.call("GET", "/api/v1/admin/fee-schedules")
    assert [s["version"] for s in again.data if s["state"] == "current"] == [current[0]["version"]]
    dup = await root.call("POST", "/api/v1/admin/fee-schedules", json=new)
    assert (dup.status, dup.code) == (409, "FEE_SCHEDULE_EXISTS")
    same_time = await root.call(
        "POST", "/api/v1/admin/fee-schedules", json={**new, "version": version + "b"}
    )
    assert (same_time.status, same_time.code) == (409, "FEE_SCHEDULE_EXISTS")
    soon = datetime.now(UTC) + timedelta(seconds=5)
    r = await root.call(
        "POST",
        "/api/v1/admin/fee-schedules",
        json={**new, "version": version + "c", "effectiveFrom": soon.isoformat()},
    )
    assert (r.status, r.code) == (422, "FEE_SCHEDULE_TOO_SOON")
    for bad in (
        {**new, "referralBps": 3000},  # more than the platform's share it is carved from
        {**new, "platformBps": 10_001},
        {**new, "platformBps": -1},
        {**new, "version": "bad version!"},
        {**new, "platformRounding": "banker"},
        {**new, "effectiveFrom": "soon"},
        {**new, "creatorBps": 7500},  # derived, not given
    ):
        r = await root.call("POST", "/api/v1/admin/fee-schedules", json=bad)
        assert (r.status, r.code) == (422, "VALIDATION_ERROR"), (bad, r.body)
    log = await admin.call("GET", "/api/v1/admin/audit-log?action=admin.fees.scheduled")
    mine = [e for e in log.data if e["meta"]["version"] == version]
    assert len(mine) == 1 and mine[0]["actorId"] == str(root.id)
    assert mine[0]["meta"]["platformBps"] == 2500
    await _refused_to_all_but(
        account, client, Permission.SYSTEM_CONFIG_LIMITED, "GET", "/api/v1/admin/fee-schedules"
    )
    await _refused_to_all_but(
        account, client, Permission.SYSTEM_CONFIG_ROOT, "POST", "/api/v1/admin/fee-schedules", new
    )


async def test_kill_switch_settles_a_streams_holds_once_and_is_audited(server, account, client):
    admin = await account(Role.ADMIN)
    creator = await account(Role.CREATOR, login=False)
    viewer = await account(login=False)
    ledger = server.app[LEDGER]
    await fund(ledger, viewer.id, 50)
    stream, _ = await streams.create_stream(
        server.pool, title="Kill", creator_handle=creator.handle, creator_id=creator.id
    )
    held = await ledger.reserve(
        IdempotencyKey(viewer.id, uuid.uuid4().hex),
        amount=30,
        purpose=HoldPurpose.PLEDGE,
        ttl_seconds=600,
        payee_id=creator.id,
        stream_id=stream.id,
    )
    assert held.ok, held
    assert (await ledger.wallet(viewer.id)).balance == 20
    path = f"/api/v1/admin/streams/{stream.id}/billing-stop"
    r = await admin.call("POST", path, json={"reason": "incident 42"})
    assert r.status == 200, r.body
    assert (r.data["released"], r.data["captured"], len(r.data["holds"])) == (30, 0, 1)
    assert r.data["holds"][0]["state"] == "released"
    assert (await ledger.wallet(viewer.id)).balance == 50
    again = await admin.call("POST", path, json={"reason": "incident 42"})
    assert again.status == 200 and again.data["holds"] == [] and again.data["released"] == 0
    log = await admin.call("GET", f"/api/v1/admin/audit-log?subject={creator.handle}")
    stops = [e for e in log.data if e["action"] == "admin.billing.stopped"]
    assert [e["meta"]["released"] for e in stops] == [0, 30]  # newest first
    assert (
        stops[1]["target"] == f"stream:{stream.id}" and stops[1]["meta"]["reason"] == "incident 42"
    )
    for bad in ({}, {"reason": "x"}, {"reason": "y" * 501}, {"reason": "ok?", "extra": 1}):
        r = await admin.call("POST", path, json=bad)
        assert (r.status, r.code) == (422, "VALIDATION_ERROR"), bad
    r = await admin.call(
        "POST", f"/api/v1/admin/streams/{uuid.uuid4()}/billing-stop", json={"reason": "abc"}
    )
    assert (r.status, r.code) == (404, "STREAM_NOT_FOUND")
    r = await admin.call(
        "POST", "/api/v1/admin/streams/not-an-id/billing-stop", json={"reason": "abc"}
    )
    assert (r.status, r.code) == (404, "STREAM_NOT_FOUND")
    await _refused_to_all_but(
        account, client, Permission.SYSTEM_CONFIG_LIMITED, "POST", path, {"reason": "abc"}
    )


async def test_decisions_about_me_list_the_restrictions_with_their_grounds(server, account, client):
    me = await account(Role.CREATOR)
    other = await account()
    moderator = await account(Role.MODERATOR)
    stream, _ = await streams.create_stream(
        server.pool, title="Mine", creator_handle=me.handle, creator_id=me.id
    )
    # A report about me, acted on (warn) by a moderator through the API.
    report = await reports.create_report(
        server.pool, other.id, "user", str(me.id), me.id, "harassment", "rude"
    )
    r = await moderator.call(
        "POST",
        f"/api/v1/moderation/reports/{report.id}/actions",
        json={"action": "warn", "note": "internal: second time"},
    )
    assert r.status == 200, r.body
    # A dismissed complaint is not a decision against me.
    dismissed = await reports.create_report(
        server.pool, other.id, "user", str(me.id), me.id, "spam", ""
    )
    r = await moderator.call(
        "POST", f"/api/v1/moderation/reports/{dismissed.id}/actions", json={"action": "dismiss"}
    )
    assert r.status == 200, r.body
    # A room timeout of 60 s, and an automated freeze of my stream.
    await chat_store.log_action(
        server.pool,
        stream.id,
        actor=moderator.id,
        action="timeout",
        target_user=me.id,
        meta={"seconds": 60, "reason": "flooding"},
    )
    await server.pool.execute(
        "INSERT INTO moderation_decisions (id, stream_id, sample_seq, stream_time, "
        "sample_reason, rating, audience, detector, policy_version, action, actions, "
        "detections, matches, latency_ms, inference_ms) VALUES ($1, $2, 0, 1.0, 'first', "
        "'sfw', 'public', 'test', 'p1', 'freeze', '{freeze}', '[]', $3::jsonb, 1, 1)",
        uuid.uuid4(),
        stream.id,
        json.dumps([{"rule": "sfw-explicit", "label": "X", "score": 0.9}]),
    )
    # Someone else's decision never shows.
    await chat_store.log_action(
        server.pool, stream.id, actor=moderator.id, action="ban", target_user=other.id
    )
    r = await me.call("GET", "/api/v1/me/decisions?limit=2")
    assert r.status == 200, r.body
    page = r.data
    more = await me.call("GET", f"/api/v1/me/decisions?limit=2&cursor={r.body['nextCursor']}")
    rows = page + more.data
    assert [(d["source"], d["action"]) for d in rows] == [
        ("automated", "freeze"),
        ("chat", "timeout"),
        ("moderation", "warn"),
    ]
    auto, chat, warn = rows
    assert auto["automated"] and auto["ground"] == "sfw-explicit"
    assert auto["targetId"] == str(stream.id) and not auto["appealable"]
    assert chat["ground"] == "flooding" and chat["until"] is not None
    until = datetime.fromisoformat(chat["until"]) - datetime.fromisoformat(chat["at"])
    assert until == timedelta(seconds=60)
    assert warn["ground"] == "harassment" and warn["reportId"] == str(report.id)
    assert warn["appealable"] and not warn["automated"]
    assert "internal" not in json.dumps(rows) and str(moderator.id) not in json.dumps(rows)
    assert more.body["nextCursor"] is None or len(more.data) == 2
    # Once appealed, it is no longer offered for appeal.
    await reports.create_appeal(server.pool, report.id, me.id, "not me")
    r = await me.call("GET", "/api/v1/me/decisions")
    assert [d["appealable"] for d in r.data if d["source"] == "moderation"] == [False]
    for bad in ("cursor=nope", "cursor=" + "A" * 201, "limit=0", "limit=500", "x=1"):
        r = await me.call("GET", f"/api/v1/me/decisions?{bad}")
        assert (r.status, r.code) == (422, "VALIDATION_ERROR"), (bad, r.body)
    anon = await client.call("GET", "/api/v1/me/decisions")
    assert (anon.status, anon.code) == (401, "UNAUTHENTICATED")
