"""Reports → moderation queue → action → log → appeal, and suspended/banned accounts refused."""

from __future__ import annotations

import uuid

import aiohttp
import asyncpg
import pytest

from api.auth.rbac import Permission, Role, roles_with
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def report(acct, target_type: str, target_id: str, reason: str = "harassment"):
    return await acct.call(
        "POST",
        "/api/v1/reports",
        json={"targetType": target_type, "targetId": target_id, "reason": reason},
    )


async def act(moderator, report_id: str, action: str, **kw):
    return await moderator.call(
        "POST",
        f"/api/v1/moderation/reports/{report_id}/actions",
        json={"action": action, **kw},
    )


async def test_report_suspend_appeal_overturn(server, account):
    reporter = await account(Role.MEMBER)
    offender = await account(Role.MEMBER)
    moderator = await account(Role.MODERATOR)
    r = await report(reporter, "user", str(offender.id))
    assert r.status == 201 and r.data["status"] == "open" and r.data["ageSeconds"] >= 0
    rid = r.data["id"]
    assert r.data["subjectId"] == str(offender.id)

    queue = await moderator.call("GET", "/api/v1/moderation/reports?limit=200")
    assert queue.status == 200
    item = next(q for q in queue.data if q["id"] == rid)
    assert item["ageSeconds"] >= 0 and item["status"] == "open"

    done = await act(moderator, rid, "suspend", days=3, note="repeated abuse")
    assert done.status == 200 and done.data["status"] == "resolved"
    assert done.data["resolution"] == "suspend" and done.data["resolvedAt"]
    again = await act(moderator, rid, "ban")
    assert again.status == 409 and again.code == "ALREADY_RESOLVED"

    # Suspended: the session is gone, login refused.
    me = await offender.call("GET", "/api/v1/auth/me")
    assert me.status == 401
    login = await offender.login()
    assert login.status == 403 and login.code == "ACCOUNT_SUSPENDED" and login.body["meta"]["until"]

    # The reporter sees where their complaint stands.
    mine = await reporter.call("GET", "/api/v1/reports")
    assert [m["status"] for m in mine.data if m["id"] == rid] == ["resolved"]

    # Appeal without a session, with the account's credentials; wrong ones are refused.
    body = {"reportId": rid, "text": "It was a misunderstanding", "email": offender.email}
    bad = await offender.call("POST", "/api/v1/appeals", json={**body, "password": "nope-nope"})
    assert bad.status == 401 and bad.code == "INVALID_CREDENTIALS"
    bystander = await account(Role.MEMBER)
    r = await bystander.call("POST", "/api/v1/appeals", json={"reportId": rid, "text": "x"})
    assert r.status == 403 and r.code == "NOT_AFFECTED_USER"
    appeal = await offender.call(
        "POST", "/api/v1/appeals", json={**body, "password": offender.password}
    )
    assert appeal.status == 201 and appeal.data["status"] == "open", appeal.body
    dup = await offender.call(
        "POST", "/api/v1/appeals", json={**body, "password": offender.password}
    )
    assert dup.status == 409 and dup.code == "APPEAL_ALREADY_OPEN"

    appeals = await moderator.call("GET", "/api/v1/moderation/appeals")
    assert any(a["id"] == appeal.data["id"] for a in appeals.data)
    decided = await moderator.call(
        "POST",
        f"/api/v1/moderation/appeals/{appeal.data['id']}/decision",
        json={"decision": "overturned", "note": "context reviewed"},
    )
    assert decided.status == 200 and decided.data["status"] == "overturned"
    assert (await offender.login()).status == 200

    log = await moderator.call("GET", f"/api/v1/moderation/log?reportId={rid}")
    assert [e["action"] for e in reversed(log.data)] == ["suspend", "appeal", "appeal.overturned"]
    assert log.data[-1]["actorId"] == str(moderator.id) and log.data[-1]["note"] == "repeated abuse"
    assert log.data[-1]["subjectId"] == str(offender.id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await server.pool.execute(
            "UPDATE moderation_log SET note = '' WHERE report_id = $1", uuid.UUID(rid)
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await server.pool.execute("DELETE FROM moderation_log WHERE report_id = $1", uuid.UUID(rid))


async def test_ban_blocks_login_and_publish(server, account):
    creator = await account(Role.CREATOR)
    moderator = await account(Role.ADMIN)
    made = await creator.call("POST", "/api/v1/streams", json={"title": "Banned soon"})
    sid, token = made.data["id"], made.data["publishToken"]
    r = await report(moderator, "stream", sid, "illegal")
    assert r.data["subjectId"] == str(creator.id)
    assert (await act(moderator, r.data["id"], "ban")).status == 200
    login = await creator.login()
    assert login.status == 403 and login.code == "ACCOUNT_BANNED"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(AssertionError, match="ACCOUNT_BANNED"):
            await publish(http, server.base_url, sid, token)


async def test_remove_freezes_a_live_stream(server, account, ready):
    creator = await account(Role.CREATOR)
    viewer = await account(Role.MEMBER)
    moderator = await account(Role.MODERATOR)
    made = await creator.call("POST", "/api/v1/streams", json={"title": "Live now"})
    sid, token = made.data["id"], made.data["publishToken"]
    await ready(sid, creator)
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, server.base_url, sid, token)
        try:
            r = await report(viewer, "stream", sid, "non_consent")
            done = await act(moderator, r.data["id"], "remove")
            assert done.status == 200 and done.data["resolution"] == "remove"
            row = await server.pool.fetchrow(
                "SELECT frozen, frozen_by, frozen_reason FROM stream_safety "
                "WHERE stream_id = $1::uuid",
                sid,
            )
            assert row["frozen"] and row["frozen_by"] == moderator.id
            assert row["frozen_reason"] == "removed by moderation (non_consent)"
        finally:
            await pub.delete(http, server.base_url)


async def test_opaque_targets_and_dismiss(account):
    reporter = await account(Role.MEMBER)
    moderator = await account(Role.MODERATOR)
    r = await report(reporter, "message", "msg_123", "spam")
    assert r.status == 201 and r.data["subjectId"] is None
    # No account behind an opaque target: warn / suspend / ban do not apply.
    bad = await act(moderator, r.data["id"], "ban")
    assert bad.status == 422 and bad.code == "ACTION_NOT_APPLICABLE"
    ok = await act(moderator, r.data["id"], "dismiss")
    assert ok.data["resolution"] == "dismiss"
    # A dismissed report is not a decision against anyone: nothing to appeal.
    member = await account(Role.MEMBER)
    user_report = await report(reporter, "user", str(member.id), "other")
    await act(moderator, user_report.data["id"], "dismiss")
    r = await member.call(
        "POST", "/api/v1/appeals", json={"reportId": user_report.data["id"], "text": "?"}
    )
    assert r.status == 409 and r.code == "NOT_APPEALABLE"
    r = await act(moderator, (await report(reporter, "user", str(member.id))).data["id"], "remove")
    assert r.status == 422 and r.code == "ACTION_NOT_APPLICABLE"
    # A report about the moderator themselves is not theirs to handle, even to dismiss it.
    mine = await report(reporter, "user", str(moderator.id))
    r = await act(moderator, mine.data["id"], "dismiss")
    assert (r.status, r.code, r.body["meta"]["reason"]) == (403, "RANK_FORBIDDEN", "self")


@pytest.mark.parametrize(
    ("target_type", "target_id", "status", "code"),
    [
        ("stream", str(uuid.UUID(int=0x5EED1)), 404, "REPORT_TARGET_NOT_FOUND"),
        ("user", "not-a-uuid", 404, "REPORT_TARGET_NOT_FOUND"),
        ("user", str(uuid.UUID(int=0x5EED2)), 404, "REPORT_TARGET_NOT_FOUND"),
        ("channel", "x", 422, "VALIDATION_ERROR"),
        ("message", "../../etc", 422, "VALIDATION_ERROR"),
    ],
)
async def test_bad_reports_are_refused(account, target_type, target_id, status, code):
    reporter = await account(Role.MEMBER)
    r = await report(reporter, target_type, target_id)
    assert (r.status, r.code) == (status, code), r.body


async def test_rbac(account, client):
    r = await report(client, "message", "m1")
    assert r.status == 401
    for role in set(Role) - roles_with(Permission.MODERATE_ALL) - {Role.VIEWER}:
        acct = await account(role)
        for method, path in [
            ("GET", "/api/v1/moderation/reports"),
            ("GET", "/api/v1/moderation/log"),
            ("GET", "/api/v1/moderation/appeals"),
            ("POST", f"/api/v1/moderation/reports/{uuid.uuid4()}/actions"),
        ]:
            r = await acct.call(method, path, json={"action": "dismiss"})
            assert (r.status, r.code) == (403, "FORBIDDEN"), (role, path)
    moderator = await account(Role.MODERATOR)
    r = await act(moderator, str(uuid.uuid4()), "dismiss")
    assert (r.status, r.code) == (404, "REPORT_NOT_FOUND")
    r = await moderator.call(
        "POST",
        f"/api/v1/moderation/appeals/{uuid.uuid4()}/decision",
        json={"decision": "upheld"},
    )
    assert (r.status, r.code) == (404, "APPEAL_NOT_FOUND")


@pytest.mark.parametrize(
    ("status", "until", "signed_in"),
    [
        ("banned", None, False),
        ("suspended", "now() + interval '1 day'", False),
        ("suspended", "now() - interval '1 second'", True),  # a lapsed suspension
    ],
)
async def test_session_lookup_honours_standing(server, account, status, until, signed_in):
    """Even a session that survived (another node, a race) stops working for restricted users."""
    acct = await account(Role.MEMBER)
    await server.pool.execute(
        f"UPDATE users SET status = $2, suspended_until = {until or 'NULL'} WHERE id = $1",
        acct.id,
        status,
    )
    me = await acct.call("GET", "/api/v1/auth/me")
    assert (me.status == 200) is signed_in


async def test_an_appeal_signs_in_like_the_sign_in_2fa_included(server, account):
    """Appeals check the credentials through api.auth.credentials: with 2FA on, the password
    alone is not enough (it was: the appeal skipped the second factor)."""
    import pyotp

    reporter, offender = await account(Role.MEMBER), await account(Role.MEMBER)
    moderator = await account(Role.MODERATOR)
    rid = (await report(reporter, "user", str(offender.id))).data["id"]
    secret = pyotp.random_base32()
    await server.pool.execute(
        "UPDATE users SET totp_secret = $2, totp_enabled = true WHERE id = $1", offender.id, secret
    )
    assert (await act(moderator, rid, "ban")).status == 200
    body = {"reportId": rid, "text": "not me", "email": offender.email, "password": "x" * 9}
    wrong = await offender.call("POST", "/api/v1/appeals", json=body)
    assert (wrong.status, wrong.code) == (401, "INVALID_CREDENTIALS")
    body["password"] = offender.password
    no_code = await offender.call("POST", "/api/v1/appeals", json=body)
    assert (no_code.status, no_code.code) == (422, "INVALID_2FA_CODE")
    bad_code = await offender.call("POST", "/api/v1/appeals", json={**body, "code": "000000"})
    assert (bad_code.status, bad_code.code) == (422, "INVALID_2FA_CODE")
    ok = await offender.call(
        "POST", "/api/v1/appeals", json={**body, "code": pyotp.TOTP(secret).now()}
    )
    assert ok.status == 201, ok.body
    failures = await server.pool.fetch(
        "SELECT meta FROM audit_log WHERE subject_id = $1 AND action = 'login.failed'",
        offender.id,
    )
    assert len(failures) == 2  # the wrong password and the wrong code, audited and counted
