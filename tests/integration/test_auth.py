"""Sign-up, sign-in, sessions, password change and the audit trail, over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from blockbuster import blockbuster_ctx

from api.auth import audit
from api.auth.rbac import Role
from tests.accounts import PASSWORD, Client, unique_handle

pytestmark = pytest.mark.asyncio(loop_scope="session")


def signup_body(handle: str | None = None, **over: object) -> dict[str, object]:
    handle = handle or unique_handle("s")
    body: dict[str, object] = {
        "email": f"{handle}@example.org",
        "handle": handle,
        "password": PASSWORD,
        "dateOfBirth": "1990-05-17",
    }
    body.update(over)
    return body


def years_ago(n: int, days: int = 0) -> str:
    today = datetime.now(UTC).date()
    return (
        date(today.year - n, today.month, min(today.day, 28)) + timedelta(days=days)
    ).isoformat()


async def actions_of(server, user_id) -> list[str]:
    return [e["action"] for e in await audit.entries(server.pool, subject_id=user_id)]


async def test_signup_signs_in_and_me_answers(server, client):
    body = signup_body()
    r = await client.call("POST", "/api/v1/auth/signup", json=body)
    assert r.status == 201, r.body
    assert r.data["handle"] == body["handle"] and r.data["roles"] == ["member"]
    assert "chat.send" in r.data["permissions"] and "stream.publish" not in r.data["permissions"]
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # the test server is plain http (settings.secure_cookies)
    me = await client.call("GET", "/api/v1/auth/me")
    assert me.status == 200 and me.data["email"] == body["email"]
    # Only the hash of the cookie value is stored.
    value = client.cookie()
    assert value and not await server.pool.fetchval(
        "SELECT count(*) FROM sessions WHERE id_hash = $1::bytea", value.encode()
    )
    user_id = uuid.UUID(me.data["id"])
    stored = await server.pool.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    assert stored.startswith("$2b$") and PASSWORD not in stored
    assert {"signup", "login.ok"} <= set(await actions_of(server, user_id))


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"dateOfBirth": years_ago(17)}, 403, "UNDERAGE"),
        ({"dateOfBirth": years_ago(18, days=1)}, 403, "UNDERAGE"),  # 18 tomorrow
        ({"dateOfBirth": years_ago(-1)}, 422, "VALIDATION_ERROR"),  # in the future
        ({"password": "ä" * 37}, 422, "PASSWORD_TOO_LONG"),  # 74 bytes, 37 characters
        ({"password": "short"}, 422, "VALIDATION_ERROR"),
        ({"email": "not-an-email"}, 422, "VALIDATION_ERROR"),
        ({"handle": "no spaces allowed"}, 422, "VALIDATION_ERROR"),
        ({"dateOfBirth": "yesterday"}, 422, "VALIDATION_ERROR"),
        ({"role": "admin"}, 422, "VALIDATION_ERROR"),  # unknown fields are refused
    ],
)
async def test_signup_refusals(server, client, over, status, code):
    body = signup_body(**over)
    r = await client.call("POST", "/api/v1/auth/signup", json=body)
    assert (r.status, r.code) == (status, code), r.body
    assert r.body["status"] == "error" and r.body["requestId"] == r.headers["X-Request-Id"]
    assert client.cookie() is None
    assert not await server.pool.fetchval(
        "SELECT count(*) FROM users WHERE handle = $1", str(body["handle"]).lower()
    )
    if code == "VALIDATION_ERROR" and over.get("dateOfBirth") != years_ago(-1):
        assert r.body["meta"]["errors"][0]["field"].startswith("body")


async def test_exactly_18_today_may_sign_up(client):
    r = await client.call(
        "POST", "/api/v1/auth/signup", json=signup_body(dateOfBirth=years_ago(18))
    )
    assert r.status == 201, r.body


async def test_taken_email_and_handle(client):
    body = signup_body()
    assert (await client.call("POST", "/api/v1/auth/signup", json=body)).status == 201
    other = Client(client.base_url)
    try:
        again = await other.call("POST", "/api/v1/auth/signup", json=body)
        assert (again.status, again.code) == (409, "EMAIL_TAKEN")
        same_handle = signup_body(str(body["handle"]).upper(), email="x" + str(body["email"]))
        again = await other.call("POST", "/api/v1/auth/signup", json=same_handle)
        assert (again.status, again.code) == (409, "HANDLE_TAKEN")
    finally:
        await other.close()


async def test_login_logout_and_revocation_is_immediate(server, account):
    acct = await account(login=False)
    wrong = await acct.call(
        "POST", "/api/v1/auth/login", json={"email": acct.email, "password": "wrong password"}
    )
    assert (wrong.status, wrong.code) == (401, "INVALID_CREDENTIALS")
    ok = await acct.login()
    assert ok.status == 200 and ok.data["user"]["handle"] == acct.handle
    assert ok.data["twoFactorRequired"] is False
    cookie = acct.cookie()
    assert (await acct.call("GET", "/api/v1/auth/me")).status == 200

    out = await acct.call("POST", "/api/v1/auth/logout")
    assert out.status == 204
    assert "session=" in out.headers["Set-Cookie"]  # cleared in the browser
    # The old cookie, replayed by someone who kept it, is worthless at once.
    stolen = Client(acct.base_url)
    try:
        r = await stolen.call("GET", "/api/v1/auth/me", headers={"Cookie": f"session={cookie}"})
        assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    finally:
        await stolen.close()
    actions = await actions_of(server, acct.id)
    assert "login.failed" in actions and "login.ok" in actions
    assert "logout" in [
        e["action"]
        for e in await audit.entries(server.pool, action="logout", limit=500)
        if e["actor_id"] == acct.id
    ]


async def test_unknown_email_fails_like_a_wrong_password(server, client, account):
    acct = await account(login=False)
    unknown = await client.call(
        "POST", "/api/v1/auth/login", json={"email": "nobody-" + acct.email, "password": "x"}
    )
    wrong = await client.call(
        "POST", "/api/v1/auth/login", json={"email": acct.email, "password": "x"}
    )
    assert (
        (unknown.status, unknown.code) == (wrong.status, wrong.code) == (401, "INVALID_CREDENTIALS")
    )
    assert unknown.body["message"] == wrong.body["message"]


async def test_anonymous_me_is_401(client):
    r = await client.call("GET", "/api/v1/auth/me")
    assert (r.status, r.code) == (401, "UNAUTHENTICATED")
    garbage = await client.call("GET", "/api/v1/auth/me", headers={"Cookie": "session=forged"})
    assert garbage.status == 401


async def test_list_and_revoke_sessions(server, account):
    laptop = await account()
    phone = Client(laptop.base_url)
    try:
        assert (
            await phone.call(
                "POST", "/api/v1/auth/login", json={"email": laptop.email, "password": PASSWORD}
            )
        ).status == 200
        listed = await laptop.call("GET", "/api/v1/auth/sessions")
        assert listed.status == 200 and len(listed.data) == 2
        mine = [s for s in listed.data if s["current"]]
        other = [s for s in listed.data if not s["current"]]
        assert len(mine) == len(other) == 1
        assert (await phone.call("GET", "/api/v1/auth/me")).status == 200
        revoke = await laptop.call("DELETE", f"/api/v1/auth/sessions/{other[0]['id']}")
        assert revoke.status == 204
        assert (await phone.call("GET", "/api/v1/auth/me")).status == 401  # at once
        assert (await laptop.call("GET", "/api/v1/auth/me")).status == 200
        again = await laptop.call("DELETE", f"/api/v1/auth/sessions/{other[0]['id']}")
        assert (again.status, again.code) == (404, "SESSION_NOT_FOUND")
        bad = await laptop.call("DELETE", "/api/v1/auth/sessions/not-hex")
        assert bad.status == 404
        # Someone else's session id cannot be revoked through my account.
        stranger = await account()
        theirs = (await stranger.call("GET", "/api/v1/auth/sessions")).data[0]["id"]
        r = await laptop.call("DELETE", f"/api/v1/auth/sessions/{theirs}")
        assert r.status == 404
        assert (await stranger.call("GET", "/api/v1/auth/me")).status == 200
        # Revoking the current session signs this client out too.
        assert (await laptop.call("DELETE", f"/api/v1/auth/sessions/{mine[0]['id']}")).status == 204
        assert (await laptop.call("GET", "/api/v1/auth/me")).status == 401
    finally:
        await phone.close()


async def test_change_password_signs_out_other_sessions(server, account):
    acct = await account()
    other = Client(acct.base_url)
    try:
        await other.call(
            "POST", "/api/v1/auth/login", json={"email": acct.email, "password": PASSWORD}
        )
        wrong = await acct.call(
            "POST",
            "/api/v1/auth/password",
            json={"currentPassword": "nope", "newPassword": "a new long password"},
        )
        assert (wrong.status, wrong.code) == (403, "WRONG_PASSWORD")
        too_long = await acct.call(
            "POST",
            "/api/v1/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "x" * 73},
        )
        assert (too_long.status, too_long.code) == (422, "PASSWORD_TOO_LONG")
        ok = await acct.call(
            "POST",
            "/api/v1/auth/password",
            json={"currentPassword": PASSWORD, "newPassword": "a new long password"},
        )
        assert ok.status == 204
        assert (await acct.call("GET", "/api/v1/auth/me")).status == 200
        assert (await other.call("GET", "/api/v1/auth/me")).status == 401
        acct.password = "a new long password"
        assert (await acct.login()).status == 200
        assert "password.changed" in await actions_of(server, acct.id)
    finally:
        await other.close()


async def test_failed_logins_back_off_per_account(server, account):
    acct = await account(login=False)
    bad = {"email": acct.email, "password": "wrong"}
    free = server.settings.login_backoff_after
    for _ in range(free):
        r = await acct.call("POST", "/api/v1/auth/login", json=bad)
        assert r.code == "INVALID_CREDENTIALS"
    r = await acct.call("POST", "/api/v1/auth/login", json=bad)
    assert (r.status, r.code) == (429, "LOGIN_THROTTLED")
    assert int(r.headers["Retry-After"]) >= 1 and r.body["retryAfter"] >= 1
    # Even the right password waits: the attacker learns nothing during the back-off.
    right = await acct.login()
    assert (right.status, right.code) == (429, "LOGIN_THROTTLED")
    # Another account from the same IP is not affected (the IP threshold is higher).
    other = await account(login=False)
    assert (await other.login()).status == 200
    # Once the wait is over (moved into the past here), the right password works and resets it.
    await server.pool.execute(
        "UPDATE login_throttle SET last_failure_at = now() - interval '20 minutes' WHERE key = $1",
        f"acct:{acct.email}",
    )
    assert (await acct.login()).status == 200
    assert not await server.pool.fetchval(
        "SELECT count(*) FROM login_throttle WHERE key = $1", f"acct:{acct.email}"
    )


async def test_failed_logins_back_off_per_ip(server, account):
    """Many accounts failing from one address: that address waits, whichever account it tries."""
    victims = [await account(login=False) for _ in range(3)]
    saved = server.settings.login_backoff_ip_after
    server.settings.login_backoff_ip_after = 3  # the suite's server raises it; 20 by default
    await server.pool.execute("DELETE FROM login_throttle WHERE key LIKE 'ip:%'")
    try:
        for v in victims:
            r = await v.call("POST", "/api/v1/auth/login", json={"email": v.email, "password": "x"})
            assert r.code == "INVALID_CREDENTIALS"
        fresh = await account(login=False)
        r = await fresh.login()
        assert (r.status, r.code) == (429, "LOGIN_THROTTLED")
    finally:
        server.settings.login_backoff_ip_after = saved
        await server.pool.execute("DELETE FROM login_throttle WHERE key LIKE 'ip:%'")
    assert (await fresh.login()).status == 200


async def test_sign_in_never_blocks_the_event_loop(server, client, account):
    acct = await account(login=False)
    with blockbuster_ctx(["api", "teezu"]):
        assert (await acct.login()).status == 200
        r = await client.call("POST", "/api/v1/auth/signup", json=signup_body())
        assert r.status == 201
        assert (await acct.call("GET", "/api/v1/auth/me")).status == 200


async def test_roles_come_from_the_database(server, account):
    acct = await account(Role.CREATOR, Role.MEMBER)
    me = await acct.call("GET", "/api/v1/auth/me")
    assert me.data["roles"] == ["creator", "member"] and "stream.publish" in me.data["permissions"]
    mirrored = await server.pool.fetch(
        "SELECT permission FROM role_permissions WHERE role = 'creator'"
    )
    from api.auth.rbac import MATRIX

    assert {r["permission"] for r in mirrored} == {str(p) for p in MATRIX[Role.CREATOR]}


async def test_authenticator_for_the_realtime_layer(server, account):
    """What the Socket.IO handshake does: request headers in, the caller's Principal out."""
    from api.auth.principal import ANONYMOUS, AUTHENTICATOR
    from api.auth.rbac import Permission

    creator = await account(Role.CREATOR)
    headers = {"Cookie": f"other=1; session={creator.cookie()}"}
    p = await server.app[AUTHENTICATOR].principal(headers)
    assert p.user_id == creator.id and p.handle == creator.handle
    assert p.roles == {Role.CREATOR, Role.VIEWER} and p.can(Permission.CHAT)
    sessions = (await creator.call("GET", "/api/v1/auth/sessions")).data
    assert p.session_id == sessions[0]["id"]  # the hash's hex, never the cookie value
    assert p.session_id != creator.cookie()
    assert await server.app[AUTHENTICATOR].principal({}) is ANONYMOUS
    assert await server.app[AUTHENTICATOR].principal({"Cookie": "session=nope"}) is ANONYMOUS
    await creator.call("POST", "/api/v1/auth/logout")
    assert await server.app[AUTHENTICATOR].principal(headers) is ANONYMOUS
