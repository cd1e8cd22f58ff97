"""TOTP 2FA: enrol, verify, sign in in two steps, no code works twice, disable."""

from __future__ import annotations

import time

import pytest

from api.auth import audit, totp
from tests.accounts import Client

pytestmark = pytest.mark.asyncio(loop_scope="session")


def next_code(secret: str, after_step: int) -> tuple[str, int]:
    """A valid code for a step later than ``after_step`` (the next one if this one is used)."""
    step = max(int(time.time()) // totp.STEP, after_step + 1)
    assert step <= int(time.time()) // totp.STEP + totp.DRIFT
    return totp.code_at(secret, step * totp.STEP), step


async def enable_2fa(acct) -> str:
    r = await acct.call("POST", "/api/v1/auth/2fa/enroll")
    assert r.status == 201, r.body
    secret = r.data["secret"]
    assert r.data["provisioningUri"].startswith("otpauth://totp/")
    assert "issuer=TeezU%20Live" in r.data["provisioningUri"]
    code, _ = next_code(secret, 0)
    on = await acct.call("POST", "/api/v1/auth/2fa/verify", json={"code": code})
    assert on.status == 200, on.body
    acct.recovery_codes = on.data["recoveryCodes"]
    assert len(set(acct.recovery_codes)) == 10
    return secret


async def test_enable_login_in_two_steps_and_no_replay(server, account):
    acct = await account()
    before = await acct.call("GET", "/api/v1/auth/me")
    assert before.data["twoFactorEnabled"] is False
    secret = await enable_2fa(acct)
    assert (await acct.call("GET", "/api/v1/auth/me")).data["twoFactorEnabled"] is True
    again = await acct.call("POST", "/api/v1/auth/2fa/enroll")
    assert (again.status, again.code) == (409, "TWO_FACTOR_STATE")

    browser = Client(acct.base_url)
    try:
        first = await browser.call(
            "POST", "/api/v1/auth/login", json={"email": acct.email, "password": acct.password}
        )
        assert first.status == 200 and first.data["twoFactorRequired"] is True
        assert first.data["user"] is None and browser.cookie() is None  # not signed in yet
        challenge = first.data["challenge"]
        assert (await browser.call("GET", "/api/v1/auth/me")).status == 401

        wrong = await browser.call(
            "POST", "/api/v1/auth/login/2fa", json={"challenge": challenge, "code": "000000"}
        )
        assert (wrong.status, wrong.code) == (422, "INVALID_2FA_CODE")

        # The code used to turn 2FA on was spent: replaying it is refused.
        last = await server.pool.fetchval("SELECT totp_last_step FROM users WHERE id = $1", acct.id)
        used = totp.code_at(secret, last * totp.STEP)
        replay = await browser.call(
            "POST", "/api/v1/auth/login/2fa", json={"challenge": challenge, "code": used}
        )
        assert (replay.status, replay.code) == (422, "INVALID_2FA_CODE")

        code, _ = next_code(secret, last)
        ok = await browser.call(
            "POST", "/api/v1/auth/login/2fa", json={"challenge": challenge, "code": code}
        )
        assert ok.status == 200, ok.body
        assert ok.data["user"]["handle"] == acct.handle and browser.cookie()
        assert (await browser.call("GET", "/api/v1/auth/me")).status == 200

        # The challenge is gone once used, and the same code cannot sign in again.
        reuse = await browser.call(
            "POST", "/api/v1/auth/login/2fa", json={"challenge": challenge, "code": code}
        )
        assert (reuse.status, reuse.code) == (401, "INVALID_2FA_CHALLENGE")
        second = await browser.call(
            "POST", "/api/v1/auth/login", json={"email": acct.email, "password": acct.password}
        )
        replay2 = await browser.call(
            "POST",
            "/api/v1/auth/login/2fa",
            json={"challenge": second.data["challenge"], "code": code},
        )
        assert (replay2.status, replay2.code) == (422, "INVALID_2FA_CODE")
    finally:
        await browser.close()
    actions = {e["action"] for e in await audit.entries(server.pool, subject_id=acct.id)}
    assert {"2fa.enroll_started", "2fa.enabled", "login.2fa_required", "login.failed"} <= actions


async def test_challenge_allows_five_attempts(account):
    acct = await account()
    await enable_2fa(acct)
    browser = Client(acct.base_url)
    try:
        first = await browser.call(
            "POST", "/api/v1/auth/login", json={"email": acct.email, "password": acct.password}
        )
        body = {"challenge": first.data["challenge"], "code": "123456"}
        codes = [
            (await browser.call("POST", "/api/v1/auth/login/2fa", json=body)).code for _ in range(6)
        ]
        assert codes == ["INVALID_2FA_CODE"] * 5 + ["INVALID_2FA_CHALLENGE"]
    finally:
        await browser.close()


async def test_disable_needs_a_fresh_code(server, account):
    acct = await account()
    wrong_state = await acct.call("POST", "/api/v1/auth/2fa/disable", json={"code": "123456"})
    assert (wrong_state.status, wrong_state.code) == (409, "TWO_FACTOR_STATE")
    no_enrol = await acct.call("POST", "/api/v1/auth/2fa/verify", json={"code": "123456"})
    assert (no_enrol.status, no_enrol.code) == (409, "TWO_FACTOR_STATE")
    secret = await enable_2fa(acct)
    bad = await acct.call("POST", "/api/v1/auth/2fa/disable", json={"code": "12345x"})
    assert (bad.status, bad.code) == (422, "INVALID_2FA_CODE")
    last = await server.pool.fetchval("SELECT totp_last_step FROM users WHERE id = $1", acct.id)
    code, _ = next_code(secret, last)
    assert (await acct.call("POST", "/api/v1/auth/2fa/disable", json={"code": code})).status == 204
    assert (await acct.call("GET", "/api/v1/auth/me")).data["twoFactorEnabled"] is False
    # Signing in is one step again.
    fresh = Client(acct.base_url)
    try:
        r = await fresh.call(
            "POST", "/api/v1/auth/login", json={"email": acct.email, "password": acct.password}
        )
        assert r.data["twoFactorRequired"] is False and r.data["user"] is not None
    finally:
        await fresh.close()
    assert "2fa.disabled" in {
        e["action"] for e in await audit.entries(server.pool, subject_id=acct.id)
    }


async def test_2fa_needs_a_session(client):
    for path in ("/api/v1/auth/2fa/enroll", "/api/v1/auth/2fa/verify", "/api/v1/auth/2fa/disable"):
        r = await client.call("POST", path, json={"code": "123456"})
        assert (r.status, r.code) == (401, "UNAUTHENTICATED")


async def test_knowing_the_password_does_not_reset_the_code_back_off(server, account):
    """Password right, codes wrong, again and again: the account's back-off still grows."""
    acct = await account()
    await enable_2fa(acct)
    browser = Client(acct.base_url)
    creds = {"email": acct.email, "password": acct.password}
    try:
        codes = []
        for _ in range(3):
            first = await browser.call("POST", "/api/v1/auth/login", json=creds)
            if first.code == "LOGIN_THROTTLED":
                codes.append(first.code)
                break
            for _ in range(2):
                r = await browser.call(
                    "POST",
                    "/api/v1/auth/login/2fa",
                    json={"challenge": first.data["challenge"], "code": "000000"},
                )
                codes.append(r.code)
        # 5 failures are free (login_backoff_after), the 6th attempt waits.
        assert codes == ["INVALID_2FA_CODE"] * 5 + ["LOGIN_THROTTLED"], codes
    finally:
        await browser.close()


async def stale(server, acct) -> None:
    """Move the session's last password confirmation (its sign-in) out of the window."""
    await server.pool.execute(
        "UPDATE sessions SET confirmed_at = now() - interval '1 hour' WHERE user_id = $1", acct.id
    )


async def test_sensitive_changes_need_a_recent_password_confirmation(server, account):
    acct = await account()
    await stale(server, acct)
    for method, path, body in [
        ("POST", "/api/v1/auth/2fa/enroll", None),
        ("POST", "/api/v1/auth/2fa/verify", {"code": "123456"}),
        ("POST", "/api/v1/auth/2fa/disable", {"code": "123456"}),
        ("POST", "/api/v1/auth/2fa/recovery-codes", None),
        ("POST", "/api/v1/auth/email", {"email": f"new-{acct.handle}@example.org"}),
    ]:
        r = await acct.call(method, path, json=body)
        assert (r.status, r.code) == (403, "REAUTH_REQUIRED"), (path, r.body)
    wrong = await acct.call("POST", "/api/v1/auth/reauth", json={"password": "not it"})
    assert (wrong.status, wrong.code) == (403, "WRONG_PASSWORD")
    ok = await acct.call("POST", "/api/v1/auth/reauth", json={"password": acct.password})
    assert ok.status == 204, ok.body
    secret = await enable_2fa(acct)  # allowed again within the window
    # With 2FA on, the confirmation needs a code as well.
    await stale(server, acct)
    no_code = await acct.call("POST", "/api/v1/auth/reauth", json={"password": acct.password})
    assert (no_code.status, no_code.code) == (422, "INVALID_2FA_CODE")
    assert no_code.body["meta"] == {"field": "code", "required": True}
    last = await server.pool.fetchval("SELECT totp_last_step FROM users WHERE id = $1", acct.id)
    code, _ = next_code(secret, last)
    r = await acct.call(
        "POST", "/api/v1/auth/reauth", json={"password": acct.password, "code": code}
    )
    assert r.status == 204, r.body
    new_email = f"new-{acct.handle}@example.org"
    moved = await acct.call("POST", "/api/v1/auth/email", json={"email": new_email})
    assert moved.status == 200 and moved.data["email"] == new_email
    actions = {e["action"] for e in await audit.entries(server.pool, subject_id=acct.id)}
    assert {"reauth.failed", "reauth.ok", "email.changed"} <= actions


async def test_recovery_codes_sign_in_once_and_can_be_replaced(server, account):
    acct = await account()
    await enable_2fa(acct)
    codes = acct.recovery_codes
    stored = await server.pool.fetch(
        "SELECT code_hash FROM two_factor_recovery_codes WHERE user_id = $1", acct.id
    )
    assert len(stored) == 10
    plain = {c.replace("-", "").encode() for c in codes}
    assert not plain & {bytes(r["code_hash"]) for r in stored}  # only hashes are kept

    async def second_step(code: str):
        browser = Client(acct.base_url)
        try:
            first = await browser.call(
                "POST", "/api/v1/auth/login", json={"email": acct.email, "password": acct.password}
            )
            return await browser.call(
                "POST",
                "/api/v1/auth/login/2fa",
                json={"challenge": first.data["challenge"], "code": code},
            )
        finally:
            await browser.close()

    ok = await second_step(codes[0].upper().replace("-", " "))  # as typed off paper
    assert ok.status == 200 and ok.data["user"]["id"] == str(acct.id)
    again = await second_step(codes[0])
    assert (again.status, again.code) == (422, "INVALID_2FA_CODE")  # one time only
    fresh = await acct.call("POST", "/api/v1/auth/2fa/recovery-codes")
    assert fresh.status == 201 and len(fresh.data["recoveryCodes"]) == 10
    old = await second_step(codes[1])
    assert (old.status, old.code) == (422, "INVALID_2FA_CODE")  # the old set stopped working
    new = await second_step(fresh.data["recoveryCodes"][0])
    assert new.status == 200
    actions = [e["action"] for e in await audit.entries(server.pool, subject_id=acct.id)]
    assert actions.count("2fa.recovery_code_used") == 2
    assert "2fa.recovery_codes_replaced" in actions
    # Turning 2FA off (with a recovery code) deletes the rest.
    off = await acct.call(
        "POST", "/api/v1/auth/2fa/disable", json={"code": fresh.data["recoveryCodes"][1]}
    )
    assert off.status == 204
    assert not await server.pool.fetchval(
        "SELECT count(*) FROM two_factor_recovery_codes WHERE user_id = $1", acct.id
    )
