"""Pure parts of sign-in: TOTP steps, back-off policy, age, password length, CSRF, watch policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest

from api.auth import backoff, totp
from api.auth.errors import PasswordTooLong
from api.auth.passwords import MAX_BYTES, PasswordHasher, check_length
from api.auth.signup import age_on
from api.security import csrf_refusal
from api.streams.access import effective_visibility, may_watch
from ingest.tokens import publish_grant_valid, sign_publish_grant
from teezu.settings import Settings


def test_totp_accepts_a_code_once_and_within_drift():
    secret = pyotp.random_base32()
    now = 1_700_000_000.0
    step = int(now) // totp.STEP
    code = totp.code_at(secret, now)
    assert totp.matching_step(secret, code, now, last_step=0) == step
    assert totp.matching_step(secret, code, now, last_step=step) is None  # replay
    early = totp.code_at(secret, now - totp.STEP)
    assert totp.matching_step(secret, early, now, last_step=0) == step - 1
    stale = totp.code_at(secret, now - 3 * totp.STEP)
    assert totp.matching_step(secret, stale, now, last_step=0) is None
    assert totp.matching_step(secret, "abcdef", now, last_step=0) is None
    assert totp.matching_step(secret, code[:3] + " " + code[3:], now, last_step=0) == step


def test_backoff_doubles_up_to_the_cap():
    waits = [backoff.wait_seconds(n, free=5, cap=60) for n in range(0, 13)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert backoff.retry_after(8, t0, t0 + timedelta(seconds=3), free=5, cap=60) == 5
    assert backoff.retry_after(8, t0, t0 + timedelta(seconds=9), free=5, cap=60) == 0
    assert backoff.retry_after(99, t0, t0 + timedelta(hours=2), free=5, cap=900) == 0


def test_age():
    assert age_on(date(2000, 6, 15), date(2018, 6, 15)) == 18
    assert age_on(date(2000, 6, 15), date(2018, 6, 14)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17


def test_password_length_is_counted_in_bytes():
    check_length("x" * MAX_BYTES)
    with pytest.raises(PasswordTooLong):
        check_length("é" * 37)  # 37 characters, 74 bytes


async def test_the_product_cost_is_the_default():
    assert Settings().bcrypt_rounds == 12
    hasher = PasswordHasher(Settings().bcrypt_rounds)
    try:
        hashed = await hasher.hash("a password")
        assert hashed.startswith("$2b$12$")
        assert await hasher.verify("a password", hashed)
        assert not await hasher.verify("another", hashed)
        assert not await hasher.verify("a password", None)  # unknown account: a check, False
        assert not await hasher.verify("x" * 100, hashed)  # too long never matches
    finally:
        hasher.close()


ORIGINS = frozenset({"http://localhost:8080"})


@pytest.mark.parametrize(
    ("method", "headers", "refused"),
    [
        ("GET", {"Origin": "https://evil.example"}, False),  # reads are not CSRF
        ("POST", {}, False),  # not a browser
        ("POST", {"Origin": "http://localhost:8080"}, False),
        ("POST", {"Origin": "http://localhost:8080", "Sec-Fetch-Site": "same-origin"}, False),
        ("POST", {"Origin": "https://evil.example"}, True),
        ("DELETE", {"Origin": "null"}, True),
        ("POST", {"Sec-Fetch-Site": "cross-site"}, True),
        ("PATCH", {"Sec-Fetch-Site": "same-site"}, True),
        ("POST", {"Sec-Fetch-Site": "none"}, False),  # typed in the address bar / bookmark
    ],
)
def test_csrf_policy(method, headers, refused):
    assert (csrf_refusal(method, headers, ORIGINS) is not None) == refused


@pytest.mark.parametrize(
    ("visibility", "who", "allowed"),
    [
        ("public", {}, True),
        ("followers", {}, False),
        ("followers", {"follower": True}, True),
        ("followers", {"owner": True}, True),
        ("followers", {"admin": True}, True),
        ("subscribers", {"follower": True}, False),
        ("subscribers", {"owner": True}, True),
        ("ticketed", {"follower": True}, False),
        ("ticketed", {"admin": True}, True),
        ("ticketed", {"ticket_holder": True}, True),
        ("followers", {"ticket_holder": True}, False),
    ],
)
def test_who_may_watch(visibility, who, allowed):
    args = {"owner": False, "admin": False, "follower": False, **who}
    assert may_watch(visibility, **args) is allowed


def test_a_running_ticket_show_makes_any_stream_ticketed():
    assert effective_visibility("public", ticket_show_running=True) == "ticketed"
    assert effective_visibility("followers", ticket_show_running=False) == "followers"


def test_publish_grants():
    key = b"k" * 32
    sid = "0b7a1c2e-0000-4000-8000-000000000001"
    grant = sign_publish_grant(key, sid, 2000)
    assert publish_grant_valid(key, grant, sid, now=1999)
    assert not publish_grant_valid(key, grant, sid, now=2000)  # expired
    assert not publish_grant_valid(key, grant, sid.replace("1", "2"), now=1)  # other stream
    assert not publish_grant_valid(b"x" * 32, grant, sid, now=1)  # other key
    assert not publish_grant_valid(key, grant.replace("2000", "9999"), sid, now=1)  # edited
    assert not publish_grant_valid(key, "not a grant", sid, now=1)
