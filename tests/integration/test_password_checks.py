"""Every operation that checks a password is throttled like the sign-in, per account and per IP.

The operations are read from the served OpenAPI document, not listed here: every request-body
field that is a password the server checks carries ``x-checked-password`` (the `Password` type
of api/schema.py), and every field named like a password must be declared as one. So a route
added later that takes a password is tested without editing this file, and one that takes a
password as a plain string fails here. Socket.IO events are read from
`api.chat.events.CLIENT_PAYLOADS` the same way.

Production back-off settings (5 failures per account, 20 per IP); only the request rate limits
are raised, because this test makes more than 20 sign-in calls a minute from one address (the
rate limits are tests/integration/test_ratelimit.py's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from api.auth.rbac import Role
from api.chat.events import CLIENT_PAYLOADS
from api.keys import POOL
from api.realtime import SOCKETIO
from teezu.settings import Settings
from tests.accounts import PASSWORD, Account, create_user
from tests.conftest import free_port
from tests.openapi_values import Operation, alternatives, example, operations, properties
from tests.servers import extra_server

pytestmark = pytest.mark.asyncio(loop_scope="session")
WRONG = "not the password"
DEFAULTS = Settings()


@dataclass
class Checked:
    """An operation and its password fields: the checked ones, the new ones, the emails."""

    operation: Operation
    checked: list[str]
    new: list[str]
    emails: list[str]

    def body(self, email: str, password: str) -> dict[str, Any]:
        doc = self.operation.doc
        schema = self.operation.body_schema()
        assert schema is not None
        body = {
            n: example(doc, p, name=n) for n, p, required in properties(doc, schema) if required
        }
        for name in self.checked:
            body[name] = password
        for name in self.new:
            body[name] = "a brand new password"
        for name in self.emails:
            body[name] = email
        return body


def is_password_field(name: str) -> bool:
    return "password" in name.lower()


def _is(doc: dict[str, Any], prop: dict[str, Any], key: str, value: Any) -> bool:
    return any(o.get(key) == value for o in alternatives(doc, prop))


def password_operations(doc: dict[str, Any]) -> list[Checked]:
    """Operations whose JSON body carries a password the server checks."""
    found = []
    for operation in operations(doc):
        schema = operation.body_schema()
        if schema is None:
            continue
        checked, new, emails = [], [], []
        for name, prop, _ in properties(doc, schema):
            if _is(doc, prop, "x-checked-password", True):
                checked.append(name)
            elif is_password_field(name):
                # Declared, but not checked against the account: a password being set.
                assert _is(doc, prop, "format", "password"), (
                    f"{operation.id}.{name}: declare password fields with api.schema.Password "
                    "(checked) or NewPassword (being set)"
                )
                new.append(name)
            elif _is(doc, prop, "format", "email"):
                emails.append(name)
        if checked:
            found.append(Checked(operation, checked, new, emails))
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def throttled(pg_dsn, tmp_path_factory) -> AsyncIterator[tuple[str, Any]]:
    async with extra_server(
        pg_dsn,
        tmp_path_factory.mktemp("pwvar"),
        free_port(),
        # Raised so the request limits never answer first (tests/integration/test_ratelimit.py
        # proves them); the back-off under test keeps its production defaults.
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
    ) as (base_url, app):
        yield base_url, app


async def _account(base_url: str, app: Any) -> Account:
    class _Server:  # what tests.accounts.create_user reads
        pass

    s = _Server()
    s.app, s.pool = app, app[POOL]  # type: ignore[attr-defined]
    user = await create_user(s, frozenset({Role.MEMBER}))
    return Account(base_url, id=user.id, handle=user.handle, email=user.email)


async def _call(acct: Account, checked: Checked, password: str) -> Any:
    op = checked.operation
    if op.signed_in and acct.cookie() is None:
        assert (await acct.login()).status == 200
    return await acct.call(op.method, op.path, json=checked.body(acct.email, password))


async def test_the_password_operations_are_found(throttled):
    base_url, app = throttled
    acct = await _account(base_url, app)
    doc = (await acct.call("GET", "/api/v1/openapi.json")).body
    await acct.close()
    ids = {c.operation.id for c in password_operations(doc)}
    # The ones there are today (the list is derived; this pins that the derivation works).
    assert ids >= {"login", "create_appeal", "change_password", "reauth", "erase_me"}
    assert "signup" not in ids  # sets a password, checks none


async def test_no_socket_io_event_carries_a_password(throttled):
    """Passwords are checked over REST only, where the throttle is; an event that took one
    would need the same proof, so it fails here until it has it."""
    _, app = throttled
    registered = set(app[SOCKETIO].handlers["/"]) - {"connect", "disconnect"}
    assert registered == set(CLIENT_PAYLOADS)  # every event the server answers is declared
    for event, model in CLIENT_PAYLOADS.items():
        schema = model.model_json_schema(by_alias=True)
        carrying = [n for n in schema.get("properties", {}) if is_password_field(n)]
        assert not carrying, f"{event} carries {carrying}: check it through api.auth.credentials"


async def test_every_password_check_backs_off_per_account(throttled):
    base_url, app = throttled
    probe = await _account(base_url, app)
    doc = (await probe.call("GET", "/api/v1/openapi.json")).body
    await probe.close()
    free = DEFAULTS.login_backoff_after
    await app[POOL].execute("DELETE FROM login_throttle")
    for checked in password_operations(doc):
        op = checked.operation.id
        acct = await _account(base_url, app)
        other = await _account(base_url, app)
        try:
            for _ in range(free):
                r = await _call(acct, checked, WRONG)
                assert r.status in (401, 403) and r.code != "LOGIN_THROTTLED", (op, r.body)
            r = await _call(acct, checked, WRONG)
            assert (r.status, r.code) == (429, "LOGIN_THROTTLED"), (op, r.body)
            assert int(r.headers["Retry-After"]) >= 1
            # The right password waits too: a hit is not recognisable during the back-off.
            right = await _call(acct, checked, PASSWORD)
            assert (right.status, right.code) == (429, "LOGIN_THROTTLED"), (op, right.body)
            # The count is the account's: another account from the same address goes on.
            r = await _call(other, checked, WRONG)
            assert r.status in (401, 403) and r.code != "LOGIN_THROTTLED", (op, r.body)
            # Counted where the sign-in counts: the sign-in itself is throttled now.
            login = await acct.call(
                "POST", "/api/v1/auth/login", json={"email": acct.email, "password": PASSWORD}
            )
            assert (login.status, login.code) == (429, "LOGIN_THROTTLED"), op
            failed = await app[POOL].fetchval(
                "SELECT count(*) FROM audit_log WHERE subject_id = $1 AND action LIKE '%failed'",
                acct.id,
            )
            assert failed == free, op  # each counted failure is in the audit log
        finally:
            await acct.close()
            await other.close()
            await app[POOL].execute("DELETE FROM login_throttle WHERE key LIKE 'ip:%'")


async def test_every_password_check_backs_off_per_ip(throttled):
    base_url, app = throttled
    probe = await _account(base_url, app)
    doc = (await probe.call("GET", "/api/v1/openapi.json")).body
    await probe.close()
    per_ip = DEFAULTS.login_backoff_ip_after
    per_account = DEFAULTS.login_backoff_after - 1  # never enough to throttle one account
    for checked in password_operations(doc):
        op = checked.operation.id
        await app[POOL].execute("DELETE FROM login_throttle")
        # Enough accounts to reach the address's threshold without any reaching its own, and a
        # fresh one; signed in first where the operation needs a session.
        made = [await _account(base_url, app) for _ in range(-(-per_ip // per_account) + 1)]
        try:
            if checked.operation.signed_in:
                for acct in made:
                    assert (await acct.login()).status == 200
            *guessers, fresh = made
            failures = 0
            for acct in guessers:
                for _ in range(min(per_account, per_ip - failures)):
                    r = await _call(acct, checked, WRONG)
                    assert r.status in (401, 403) and r.code != "LOGIN_THROTTLED", (op, r.body)
                    failures += 1
            assert failures == per_ip
            r = await _call(fresh, checked, PASSWORD)
            assert (r.status, r.code) == (429, "LOGIN_THROTTLED"), (op, r.body)
        finally:
            for acct in made:
                await acct.close()
    await app[POOL].execute("DELETE FROM login_throttle")
