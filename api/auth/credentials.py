"""The one place a password is checked: sign-in, appeals, password changes, re-authentication
and erasure all call `check_password`, and `check_second_factor` when 2FA is on.

What every check gets, so no caller can forget it:

- **back-off** per account and per IP (`api.auth.backoff`): while either key's wait runs the
  answer is 429 ``LOGIN_THROTTLED`` with ``Retry-After``, even for the right password, so a
  route that checks a password is never an oracle faster than the sign-in;
- **counters**: a wrong password or a wrong second-factor code counts one failure on both keys;
  only a complete success (password, and the code when 2FA is on) clears the account's count;
- **2FA**: an account with TOTP on needs a current code or an unused recovery code as well
  (the sign-in asks for it in a second step, with a challenge);
- **audit**: every failure is written to the audit log with the purpose and the reason.

Unknown emails cost the same bcrypt check as wrong passwords (`PasswordHasher.verify`) and
count toward the same back-off keys, so neither timing nor throttling tells accounts apart.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from api.auth import audit, backoff, recovery, totp
from api.auth.errors import (
    InvalidCredentials,
    InvalidTwoFactorCode,
    LoginThrottled,
    WrongPassword,
)
from api.auth.passwords import HASHER
from api.keys import POOL, SETTINGS
from api.routing import RateLimit
from api.users import store as users
from teezu.db import Db

Purpose = Literal["login", "appeal", "password_change", "reauth", "erase"]

# The audit action of a failure, per purpose (the sign-in's names predate this module).
FAILED_ACTION: dict[str, str] = {
    "login": "login.failed",
    "appeal": "login.failed",
    "password_change": "password.change_failed",
    "reauth": "reauth.failed",
    "erase": "privacy.erase_failed",
}
# Callers without a session prove who they are with these (401 on failure); a signed-in caller
# confirming their own password gets 403 (they are known, the confirmation is wrong).
_ANONYMOUS: frozenset[str] = frozenset({"login", "appeal"})

# Every route that checks a password or a second factor (sign-up, sign-in, 2FA, password and
# e-mail changes, appeals, erasure): costly (bcrypt) and attractive to abuse, so a tighter limit
# than the default, on top of the per-account back-off.
AUTH_LIMIT = RateLimit(requests=20, window=60, setting="auth_rate_limit_requests")


def throttle_keys(email: str, ip: str) -> list[str]:
    """The back-off keys of a password check: the account (by email) and the address."""
    return [f"acct:{email.lower()}", f"ip:{ip}"]


@dataclass(frozen=True)
class Checker:
    """`check_password` and `check_second_factor` bound to one request's app and address."""

    app: web.Application
    ip: str

    @property
    def pool(self) -> Any:
        return self.app[POOL]

    async def throttle(self, keys: list[str]) -> None:
        """429 ``LOGIN_THROTTLED`` while the account's or the address's back-off runs."""
        settings = self.app[SETTINGS]
        wait = 0
        for key in keys:
            st = await backoff.state(self.pool, key)
            if st is None:
                continue
            free = (
                settings.login_backoff_ip_after
                if key.startswith("ip:")
                else settings.login_backoff_after
            )
            failures, last, now = st
            wait = max(
                wait,
                backoff.retry_after(failures, last, now, free=free, cap=settings.login_backoff_max),
            )
        if wait > 0:
            raise LoginThrottled(
                "too many failed attempts: wait before trying again", retry_after=wait
            )

    async def failed(
        self,
        keys: list[str],
        purpose: Purpose,
        user: users.UserRow | None,
        reason: str,
        *,
        actor: uuid.UUID | None = None,
    ) -> None:
        for key in keys:
            await backoff.record_failure(self.pool, key)
        await audit.record(
            self.pool,
            FAILED_ACTION[purpose],
            actor_id=actor,
            subject_id=user.id if user else None,
            ip=self.ip,
            meta={"reason": reason, "purpose": purpose},
        )

    async def check_password(
        self,
        purpose: Purpose,
        password: str,
        *,
        user: users.UserRow | None = None,
        email: str | None = None,
    ) -> users.UserRow:
        """The account whose password ``password`` is: ``user`` (a signed-in caller confirming
        their own) or the account of ``email``. Raises 429 while throttled, 401
        ``INVALID_CREDENTIALS`` (no session) or 403 ``WRONG_PASSWORD`` (signed in) otherwise.

        It does not look at 2FA: call `check_second_factor` next (the sign-in does that in its
        second step), then `succeeded`."""
        if user is None:
            assert email is not None
            user = await users.get_by_email(self.pool, email.lower())
            keys = throttle_keys(email, self.ip)
        else:
            keys = throttle_keys(user.email, self.ip)
        await self.throttle(keys)
        ok = await self.app[HASHER].verify(password, user.password_hash if user else None)
        if not ok or user is None:
            reason = "password" if user else "unknown email"
            actor = user.id if user and purpose not in _ANONYMOUS else None
            await self.failed(keys, purpose, user, reason, actor=actor)
            if purpose in _ANONYMOUS:
                raise InvalidCredentials("wrong email or password")
            raise WrongPassword("the password is wrong")
        return user

    async def check_second_factor(
        self, purpose: Purpose, user: users.UserRow, code: str | None
    ) -> Literal["none", "totp", "recovery"]:
        """With 2FA on: accept ``code`` once, a TOTP code or an unused recovery code; with it
        off: nothing to check. Throttled like the password; a wrong code counts a failure."""
        if not user.totp_enabled:
            return "none"
        keys = throttle_keys(user.email, self.ip)
        await self.throttle(keys)
        if not code:  # nothing to count: the caller did not try
            raise InvalidTwoFactorCode(
                "this account has 2FA on: send a current code (or a recovery code)",
                meta={"field": "code", "required": True},
            )
        if await use_totp(self.pool, user, code):
            return "totp"
        remaining = await recovery.use(self.pool, user.id, code)
        if remaining is not None:
            await audit.record(
                self.pool,
                "2fa.recovery_code_used",
                actor_id=user.id,
                subject_id=user.id,
                ip=self.ip,
                meta={"remaining": remaining, "purpose": purpose},
            )
            return "recovery"
        await self.failed(keys, purpose, user, "2fa code", actor=_actor(purpose, user))
        raise InvalidTwoFactorCode("wrong or already used code")

    async def succeeded(self, user: users.UserRow) -> None:
        """A complete check (password and second factor): the account's count starts over."""
        await backoff.clear(self.pool, throttle_keys(user.email, self.ip)[0])

    async def confirm(
        self, purpose: Purpose, user: users.UserRow, password: str, code: str | None
    ) -> users.UserRow:
        """A signed-in caller's confirmation: password, then the second factor when on."""
        user = await self.check_password(purpose, password, user=user)
        await self.check_second_factor(purpose, user, code)
        await self.succeeded(user)
        return user


def _actor(purpose: Purpose, user: users.UserRow) -> uuid.UUID | None:
    return None if purpose in _ANONYMOUS else user.id


async def use_totp(db: Db, user: users.UserRow, code: str, secret: str | None = None) -> bool:
    """Accept a TOTP ``code`` once: its step becomes the account's last used step (a
    conditional UPDATE, so two requests racing with one code cannot both win)."""
    secret = secret or user.totp_secret
    if secret is None:
        return False
    step = totp.matching_step(secret, code, time.time(), user.totp_last_step)
    if step is None:
        return False
    status = await db.execute(
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
        user.id,
        step,
    )
    return bool(status == "UPDATE 1")
