"""``/api/v1/auth``: sign-up, sign-in (with TOTP as a second step), sessions, password, 2FA.

Every auth event is written to the audit log. Sign-in failures back off exponentially per
account and per IP (`api.auth.backoff`); unknown emails cost the same bcrypt check as wrong
passwords.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import EmailStr, Field

from api.affiliates import store as affiliates
from api.affiliates.attribution import REF_COOKIE, Decision, attribute
from api.affiliates.errors import ReferralCodeNotFound, SelfReferral
from api.auth import audit, recovery, sessions, totp
from api.auth.credentials import AUTH_LIMIT, Checker, use_totp
from api.auth.errors import (
    EmailTaken,
    HandleTaken,
    InvalidChallenge,
    InvalidTwoFactorCode,
    ReauthRequired,
    SessionNotFound,
    TwoFactorState,
    Underage,
)
from api.auth.passwords import HASHER, check_length
from api.auth.rbac import Role, permissions_of
from api.auth.signup import MIN_AGE, SignupBody, age_on
from api.keys import POOL, SETTINGS
from api.reports import store as reports_store
from api.reports.actions import check_standing
from api.routing import Api, Call, Page
from api.schema import Input, NewPassword, Output, Password
from api.users import store as users
from teezu.db import Connection
from teezu.errors import Invalid

api = Api("auth")


# A TOTP code (6 digits) or a recovery code (xxxxx-xxxxx).
SecondFactor = Field(
    min_length=6, max_length=32, description="a TOTP code, or one of the recovery codes"
)


class LoginBody(Input):
    email: EmailStr
    password: Password


class SecondStepBody(Input):
    challenge: str = Field(min_length=1, max_length=128)
    code: str = SecondFactor


class PasswordBody(Input):
    current_password: Password
    new_password: NewPassword
    code: str | None = Field(default=None, min_length=6, max_length=32, description="with 2FA on")


class CodeBody(Input):
    code: str = Field(min_length=6, max_length=10)


class DisableBody(Input):
    code: str = SecondFactor


class ReauthBody(Input):
    password: Password
    code: str | None = Field(default=None, min_length=6, max_length=32, description="with 2FA on")


class EmailBody(Input):
    email: EmailStr


class RecoveryCodes(Output):
    recovery_codes: list[str] = Field(
        description="one-time codes for signing in without the authenticator app: shown once"
    )


class Me(Output):
    id: uuid.UUID
    email: str
    handle: str
    roles: list[str]
    permissions: list[str]
    two_factor_enabled: bool
    created_at: datetime


class LoginResult(Output):
    user: Me | None = None
    two_factor_required: bool = False
    challenge: str | None = Field(
        default=None, description="send it with the TOTP code to /auth/login/2fa"
    )


class SessionInfo(Output):
    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class Enrollment(Output):
    secret: str
    provisioning_uri: str


def me_of(user: users.UserRow) -> Me:
    roles = user.roles | {Role.VIEWER}
    return Me(
        id=user.id,
        email=user.email,
        handle=user.handle,
        roles=sorted(map(str, user.roles)),
        permissions=sorted(map(str, permissions_of(roles))),
        two_factor_enabled=user.totp_enabled,
        created_at=user.created_at,
    )


async def _current_user(call: Call[Any, Any]) -> users.UserRow:
    assert call.principal.user_id is not None
    user = await users.get_by_id(call.app[POOL], call.principal.user_id)
    assert user is not None  # the session row would be gone with the user
    return user


async def _start_session(call: Call[Any, Any], user: users.UserRow, **meta: object) -> None:
    pool, settings = call.app[POOL], call.app[SETTINGS]
    value = await sessions.create(
        pool, user.id, settings, ip=call.ip, user_agent=call.request.headers.get("User-Agent")
    )
    call.after.append(lambda response: sessions.set_cookie(response, value, settings))
    await audit.record(
        pool, "login.ok", actor_id=user.id, subject_id=user.id, ip=call.ip, meta=meta
    )


@api.route(
    "POST",
    "/api/v1/auth/signup",
    summary="Create an account (18+) and sign in",
    status=201,
    body=SignupBody,
    response=Me,
    errors=(403, 404, 409),
    rate_limit=AUTH_LIMIT,
)
async def signup(call: Call[SignupBody, None]) -> Me:
    """New accounts get the `member` role. Refused with 403 `UNDERAGE` under 18, 404
    `REFERRAL_CODE_NOT_FOUND` and 422 `SELF_REFERRAL` for a typed referral code (nothing is
    written). A followed referral link (the ``teezu_ref`` cookie) is attributed first."""
    body = call.body
    today = datetime.now(UTC).date()
    if body.date_of_birth > today:
        raise Invalid(
            "date of birth is in the future",
            meta={"errors": [{"field": "body.dateOfBirth", "message": "in the future"}]},
        )
    if age_on(body.date_of_birth, today) < MIN_AGE:
        raise Underage(f"you must be {MIN_AGE} or older to sign up", meta={"minAge": MIN_AGE})
    check_length(body.password)
    pool = call.app[POOL]
    decision = await _referral(call)
    hashed = await call.app[HASHER].hash(body.password)

    async def refer(conn: Connection, user_id: uuid.UUID) -> None:
        await affiliates.refer(conn, user_id, decision)

    try:
        user = await users.create_user(
            pool,
            email=body.email,
            handle=body.handle,
            password_hash=hashed,
            date_of_birth=body.date_of_birth,
            on_created=refer,
        )
    except users.EmailTaken:
        raise EmailTaken("an account with this email exists") from None
    except users.HandleTaken:
        raise HandleTaken("this handle is taken", meta={"handle": body.handle}) from None
    await audit.record(pool, "signup", actor_id=user.id, subject_id=user.id, ip=call.ip)
    await _start_session(call, user, via="signup")
    return me_of(user)


async def _referral(call: Call[SignupBody, None]) -> Decision:
    """The sign-up's referral (`api.affiliates.attribution`), decided before anything is
    written: an unknown or self-referring typed code refuses the sign-up."""
    pool, body = call.app[POOL], call.body
    typed = None
    if body.referral_code is not None:
        typed = await affiliates.touch_of_code(pool, body.referral_code)
        if typed is None:
            raise ReferralCodeNotFound(
                "no such referral code", meta={"referralCode": body.referral_code}
            )
    click = None
    cookie = call.request.cookies.get(REF_COOKIE, "")
    try:
        click = await affiliates.touch_of_click(pool, uuid.UUID(cookie)) if cookie else None
    except ValueError:
        click = None
    decision = attribute(
        email=body.email,
        caller=call.principal.user_id,
        click=click,
        typed=typed,
        now=datetime.now(UTC),
    )
    if decision.self_referral:
        raise SelfReferral("you cannot use your own referral code")
    return decision


def _checker(call: Call[Any, Any]) -> Checker:
    return Checker(call.app, call.ip)


async def _require_recent_confirmation(call: Call[Any, Any]) -> None:
    """403 ``REAUTH_REQUIRED`` unless this session confirmed the password (or signed in)
    within ``TEEZU_REAUTH_WINDOW`` seconds: a stolen session cookie alone cannot take the
    account over (change its e-mail, its 2FA or its recovery codes)."""
    assert call.principal.session_id is not None
    window = call.app[SETTINGS].reauth_window
    if not await sessions.confirmed_within(
        call.app[POOL], bytes.fromhex(call.principal.session_id), window
    ):
        raise ReauthRequired(
            "confirm your password first: POST /api/v1/auth/reauth", meta={"window": window}
        )


@api.route(
    "POST",
    "/api/v1/auth/login",
    summary="Sign in with email and password",
    body=LoginBody,
    response=LoginResult,
    errors=(401,),
    rate_limit=AUTH_LIMIT,
)
async def login(call: Call[LoginBody, None]) -> LoginResult:
    """Sets the session cookie, or, with 2FA on, returns a challenge for `/auth/login/2fa`.

    Repeated failures answer 429 `LOGIN_THROTTLED` with Retry-After (exponential back-off per
    account and per IP, shared with every other password check: `api.auth.credentials`)."""
    pool = call.app[POOL]
    checker = _checker(call)
    user = await checker.check_password("login", call.body.password, email=call.body.email)
    # Only after the password: the standing is not revealed to someone guessing.
    await _check_standing(pool, user.id)
    if user.totp_enabled:
        # The account's failure count is cleared only after the code: someone who knows the
        # password must not reset the back-off that limits guessing codes.
        challenge = await sessions.new_challenge(pool, user.id)
        await audit.record(pool, "login.2fa_required", subject_id=user.id, ip=call.ip)
        return LoginResult(two_factor_required=True, challenge=challenge)
    await checker.succeeded(user)
    await _start_session(call, user)
    return LoginResult(user=me_of(user))


async def _check_standing(pool: asyncpg.Pool, user_id: uuid.UUID) -> None:
    """Suspended and banned accounts may not sign in (403 with the reason's code)."""
    found = await reports_store.standing(pool, user_id)
    if found is not None:
        check_standing(*found, datetime.now(UTC))


@api.route(
    "POST",
    "/api/v1/auth/login/2fa",
    summary="Second step of a sign-in with 2FA: the TOTP code",
    body=SecondStepBody,
    response=LoginResult,
    errors=(401,),
    rate_limit=AUTH_LIMIT,
)
async def login_second_step(call: Call[SecondStepBody, None]) -> LoginResult:
    """A challenge allows 5 attempts within 5 minutes; a code works once. A recovery code
    (from `/auth/2fa/verify` or `/auth/2fa/recovery-codes`) works in place of a TOTP code,
    once."""
    pool = call.app[POOL]
    user_id = await sessions.challenge_user(pool, call.body.challenge)
    if user_id is None:
        raise InvalidChallenge("sign in again: this challenge is unknown, used up or expired")
    user = await users.get_by_id(pool, user_id)
    if user is None or not user.totp_enabled:
        raise InvalidChallenge("sign in again")
    checker = _checker(call)
    used = await checker.check_second_factor("login", user, call.body.code)
    await sessions.drop_challenge(pool, call.body.challenge)
    await _check_standing(pool, user.id)
    await checker.succeeded(user)
    await _start_session(
        call, user, twoFactor=True, **({"recoveryCode": True} if used == "recovery" else {})
    )
    return LoginResult(user=me_of(user))


@api.route(
    "POST",
    "/api/v1/auth/logout",
    summary="Sign out: the session is revoked at once",
    status=204,
)
async def logout(call: Call[None, None]) -> None:
    """Without a session it does nothing (and still answers 204)."""
    settings = call.app[SETTINGS]
    if call.principal.session_id is not None:
        await sessions.revoke(call.app[POOL], bytes.fromhex(call.principal.session_id))
        await audit.record(call.app[POOL], "logout", actor_id=call.principal.user_id, ip=call.ip)
    call.after.append(lambda response: sessions.clear_cookie(response, settings))


@api.route("GET", "/api/v1/auth/me", summary="The signed-in user", response=Me, auth=True)
async def me(call: Call[None, None]) -> Me:
    return me_of(await _current_user(call))


@api.route(
    "GET",
    "/api/v1/auth/sessions",
    summary="My active sessions",
    response=SessionInfo,
    paginated=True,
    auth=True,
)
async def list_sessions(call: Call[None, None]) -> Page[SessionInfo]:
    assert call.principal.user_id is not None
    rows = await sessions.list_for(call.app[POOL], call.principal.user_id)
    return Page(
        [
            SessionInfo(
                id=r.public_id,
                created_at=r.created_at,
                last_seen_at=r.last_seen_at,
                expires_at=r.expires_at,
                ip=r.ip,
                user_agent=r.user_agent,
                current=r.public_id == call.principal.session_id,
            )
            for r in rows
        ]
    )


@api.route(
    "DELETE",
    "/api/v1/auth/sessions/{session_id}",
    summary="Revoke one of my sessions (takes effect at once)",
    status=204,
    auth=True,
)
async def revoke_session(call: Call[None, None]) -> web.StreamResponse | None:
    raw = call.path("session_id")
    try:
        id_hash = bytes.fromhex(raw)
    except ValueError:
        raise SessionNotFound("no such session") from None
    if not await sessions.revoke(call.app[POOL], id_hash, user_id=call.principal.user_id):
        raise SessionNotFound("no such session")
    await audit.record(
        call.app[POOL],
        "session.revoked",
        actor_id=call.principal.user_id,
        subject_id=call.principal.user_id,
        ip=call.ip,
    )
    if raw == call.principal.session_id:
        settings = call.app[SETTINGS]
        call.after.append(lambda response: sessions.clear_cookie(response, settings))
    return None


@api.route(
    "POST",
    "/api/v1/auth/password",
    summary="Change my password (signs out my other sessions)",
    status=204,
    body=PasswordBody,
    auth=True,
    errors=(403,),
    rate_limit=AUTH_LIMIT,
)
async def change_password(call: Call[PasswordBody, None]) -> None:
    """The current password (and, with 2FA on, a code) confirms it: throttled and counted like
    a sign-in. 403 `WRONG_PASSWORD`, 422 `INVALID_2FA_CODE`, 429 `LOGIN_THROTTLED`."""
    pool = call.app[POOL]
    user = await _checker(call).confirm(
        "password_change", await _current_user(call), call.body.current_password, call.body.code
    )
    hashed = await call.app[HASHER].hash(call.body.new_password)
    await users.set_password(pool, user.id, hashed)
    assert call.principal.session_id is not None
    ended = await sessions.revoke_all(pool, user.id, keep=bytes.fromhex(call.principal.session_id))
    await audit.record(
        pool,
        "password.changed",
        actor_id=user.id,
        subject_id=user.id,
        ip=call.ip,
        meta={"sessionsRevoked": ended},
    )


@api.route(
    "POST",
    "/api/v1/auth/reauth",
    summary="Confirm my password (and 2FA code): sensitive changes are allowed for a while",
    status=204,
    body=ReauthBody,
    auth=True,
    errors=(403,),
    rate_limit=AUTH_LIMIT,
)
async def reauth(call: Call[ReauthBody, None]) -> None:
    """Enrolling or disabling 2FA, changing the e-mail address and making new recovery codes
    need a password confirmation within `TEEZU_REAUTH_WINDOW` seconds (signing in counts).
    Throttled and counted like a sign-in."""
    user = await _checker(call).confirm(
        "reauth", await _current_user(call), call.body.password, call.body.code
    )
    assert call.principal.session_id is not None
    await sessions.confirm(call.app[POOL], bytes.fromhex(call.principal.session_id))
    await audit.record(
        call.app[POOL], "reauth.ok", actor_id=user.id, subject_id=user.id, ip=call.ip
    )


@api.route(
    "POST",
    "/api/v1/auth/email",
    summary="Change my e-mail address (needs a recent password confirmation)",
    body=EmailBody,
    response=Me,
    auth=True,
    errors=(403, 409),
    rate_limit=AUTH_LIMIT,
)
async def change_email(call: Call[EmailBody, None]) -> Me:
    """403 `REAUTH_REQUIRED` without a recent `/auth/reauth` (or sign-in); 409 `EMAIL_TAKEN`.
    Signs out my other sessions."""
    await _require_recent_confirmation(call)
    pool = call.app[POOL]
    user = await _current_user(call)
    new = call.body.email.lower()
    try:
        await users.set_email(pool, user.id, new)
    except users.EmailTaken:
        raise EmailTaken("an account with this email exists") from None
    assert call.principal.session_id is not None
    ended = await sessions.revoke_all(pool, user.id, keep=bytes.fromhex(call.principal.session_id))
    await audit.record(
        pool,
        "email.changed",
        actor_id=user.id,
        subject_id=user.id,
        ip=call.ip,
        meta={"sessionsRevoked": ended},
    )
    return me_of(await _current_user(call))


@api.route(
    "POST",
    "/api/v1/auth/2fa/enroll",
    summary="Start turning on 2FA: a TOTP secret for an authenticator app",
    status=201,
    response=Enrollment,
    auth=True,
    errors=(403, 409),
)
async def enroll_2fa(call: Call[None, None]) -> Enrollment:
    """2FA is on only after `/auth/2fa/verify` with a code from the app. Needs a recent
    password confirmation (403 `REAUTH_REQUIRED`)."""
    await _require_recent_confirmation(call)
    user = await _current_user(call)
    if user.totp_enabled:
        raise TwoFactorState("2FA is already on: disable it first")
    secret = totp.new_secret()
    await call.app[POOL].execute("UPDATE users SET totp_secret = $2 WHERE id = $1", user.id, secret)
    await audit.record(
        call.app[POOL], "2fa.enroll_started", actor_id=user.id, subject_id=user.id, ip=call.ip
    )
    return Enrollment(secret=secret, provisioning_uri=totp.provisioning_uri(secret, user.email))


@api.route(
    "POST",
    "/api/v1/auth/2fa/verify",
    summary="Finish turning on 2FA with a code from the app; returns the recovery codes",
    body=CodeBody,
    response=RecoveryCodes,
    auth=True,
    errors=(403, 409),
)
async def verify_2fa(call: Call[CodeBody, None]) -> RecoveryCodes:
    """The recovery codes are shown this once (only their hashes are kept)."""
    await _require_recent_confirmation(call)
    user = await _current_user(call)
    if user.totp_enabled or user.totp_secret is None:
        raise TwoFactorState("start with /auth/2fa/enroll")
    if not await use_totp(call.app[POOL], user, call.body.code):
        raise InvalidTwoFactorCode("wrong or already used code")
    await call.app[POOL].execute("UPDATE users SET totp_enabled = true WHERE id = $1", user.id)
    codes = await recovery.replace(call.app[POOL], user.id)
    await audit.record(
        call.app[POOL], "2fa.enabled", actor_id=user.id, subject_id=user.id, ip=call.ip
    )
    return RecoveryCodes(recovery_codes=codes)


@api.route(
    "POST",
    "/api/v1/auth/2fa/recovery-codes",
    summary="Make new 2FA recovery codes (the old ones stop working)",
    status=201,
    response=RecoveryCodes,
    auth=True,
    errors=(403, 409),
    rate_limit=AUTH_LIMIT,
)
async def regenerate_recovery_codes(call: Call[None, None]) -> RecoveryCodes:
    """Needs 2FA on and a recent password confirmation (403 `REAUTH_REQUIRED`)."""
    await _require_recent_confirmation(call)
    user = await _current_user(call)
    if not user.totp_enabled:
        raise TwoFactorState("2FA is not on")
    codes = await recovery.replace(call.app[POOL], user.id)
    await audit.record(
        call.app[POOL],
        "2fa.recovery_codes_replaced",
        actor_id=user.id,
        subject_id=user.id,
        ip=call.ip,
    )
    return RecoveryCodes(recovery_codes=codes)


@api.route(
    "POST",
    "/api/v1/auth/2fa/disable",
    summary="Turn 2FA off (needs a recent password confirmation and a current code)",
    status=204,
    body=DisableBody,
    auth=True,
    errors=(403, 409),
)
async def disable_2fa(call: Call[DisableBody, None]) -> None:
    """A TOTP code or a recovery code; throttled and counted like a sign-in."""
    await _require_recent_confirmation(call)
    user = await _current_user(call)
    if not user.totp_enabled:
        raise TwoFactorState("2FA is not on")
    checker = _checker(call)
    await checker.check_second_factor("reauth", user, call.body.code)
    await checker.succeeded(user)
    await call.app[POOL].execute(
        "UPDATE users SET totp_enabled = false, totp_secret = NULL WHERE id = $1", user.id
    )
    await recovery.delete(call.app[POOL], user.id)
    await audit.record(
        call.app[POOL], "2fa.disabled", actor_id=user.id, subject_id=user.id, ip=call.ip
    )
