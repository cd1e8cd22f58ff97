"""Fixtures for the ledger's tests: a database of their own (so `teezu ledger check` sees only
books these tests wrote, and corrupting one cannot leak into other suites), funded viewers
and live streams with a creator."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web

from api.app import create_app
from api.auth.rbac import Role
from api.keys import POOL
from api.wallet.model import IdempotencyKey
from api.wallet.payouts import PAYOUTS, Payouts
from api.wallet.providers import PROVIDERS
from api.wallet.sandbox import SandboxProvider
from api.wallet.service import LEDGER, Ledger
from api.wallet.tips import TipRequest
from teezu.db import apply_migrations, create_pool
from teezu.settings import Settings
from tests.accounts import Account, Client, Reply, create_user
from tests.conftest import free_port

SUBSCRIPTION_PERIOD = 2  # seconds
SUBSCRIPTION_GRACE = 3


def dsn_for_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def fresh_database(server_dsn: str, prefix: str) -> str:
    """Create an empty database next to ``server_dsn``'s and migrate it; returns its DSN."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dsn = dsn_for_database(server_dsn, name)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        await apply_migrations(pool)
    finally:
        await pool.close()
    return dsn


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ledger_dsn(pg_dsn: str) -> str:
    return await fresh_database(pg_dsn, "teezu_ledger")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ledger_pool(ledger_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(ledger_dsn, min_size=2, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def ledger(ledger_pool: asyncpg.Pool) -> Ledger:
    return Ledger(ledger_pool)


Fund = Callable[..., Awaitable[uuid.UUID]]


async def fund(ledger: Ledger, user: uuid.UUID, tokens: int) -> uuid.UUID:
    """Give ``user`` ``tokens`` the way a real purchase does (pending, then confirmed as the
    provider's webhook would); returns the purchase id. Packages are created on demand."""
    pool = ledger.pool
    package = f"test-{tokens}"
    await pool.execute(
        "INSERT INTO token_packages (id, tokens, price_minor, currency) "
        "VALUES ($1, $2, $3, 'EUR') ON CONFLICT DO NOTHING",
        package,
        tokens,
        tokens * 10,
    )
    outcome = await ledger.create_purchase(
        IdempotencyKey(user, f"fund-{uuid.uuid4()}"), package, "sandbox"
    )
    purchase_id = uuid.UUID(outcome.data["purchase"]["id"])
    async with pool.acquire() as conn, conn.transaction():
        assert await ledger.confirm_purchase(conn, purchase_id) == "applied"
    return purchase_id


async def ensure_user(pool: asyncpg.Pool, user_id: uuid.UUID) -> None:
    """A users row for ``user_id`` (streams.creator_id references users); it cannot sign in."""
    handle = f"u{user_id.hex[:24]}"
    await pool.execute(
        "INSERT INTO users (id, email, handle, password_hash, date_of_birth) "
        "VALUES ($1, $2, $3, '!', '1990-01-01') ON CONFLICT (id) DO NOTHING",
        user_id,
        f"{handle}@example.org",
        handle,
    )


async def live_stream(pool: asyncpg.Pool, creator: uuid.UUID, *, state: str = "live") -> uuid.UUID:
    """A stream of ``creator`` in ``state`` (the user row is created if missing)."""
    await ensure_user(pool, creator)
    stream_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO streams (id, creator_handle, title, state, publish_token_hash, creator_id) "
        "VALUES ($1, $2, 'Tip test', $3, '\\x00', $4)",
        stream_id,
        f"c{creator.hex[:12]}",
        state,
        creator,
    )
    return stream_id


@dataclass
class WalletServer:
    base_url: str
    app: web.Application

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[POOL]

    @property
    def ledger(self) -> Ledger:
        return self.app[LEDGER]

    @property
    def sandbox(self) -> SandboxProvider:
        provider = self.app[PROVIDERS]["sandbox"]
        assert isinstance(provider, SandboxProvider)
        return provider


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def wallet_server(
    ledger_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WalletServer]:
    """The real application (every route and middleware, real sign-in) on the ledger's
    database."""
    port = free_port()
    settings = Settings(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        var_dir=tmp_path_factory.mktemp("wallet-var"),
        node_id="wallet-test-node",
        edge_port=0,  # no LL-HLS edge: it would bind port + 1, maybe taken by another server
        # A known secret: tests/integration/wallet/test_webhooks.py signs webhooks with it.
        payment_webhook_secret="test-webhook-secret",
        # Hold expiry and roll-ups are run by the tests that check them (test_holds.py,
        # test_ledger_check_cli.py), at the moment they choose, not by a timer mid-test.
        ledger_job_interval=3600,
        # A fast billing calendar; renewals are run by the tests themselves (the node's job
        # runs once at start-up, when nothing is due yet).
        subscription_period_seconds=SUBSCRIPTION_PERIOD,
        subscription_grace_seconds=SUBSCRIPTION_GRACE,
        subscription_retry_seconds=1,
        subscription_job_interval=3600,
        # Subscriber-only streams are watched here; the age gate has its own tests.
        age_gate_enabled=False,
        # Like the shared server (tests/conftest.py): hundreds of sign-ins and requests from
        # 127.0.0.1 per run; the limits and bcrypt's cost 12 are proven by their own tests.
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
        bcrypt_rounds=4,
    )
    app = create_app(settings, dsn=ledger_dsn)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield WalletServer(f"http://127.0.0.1:{port}", app)
    await runner.cleanup()


MakeMember = Callable[..., Awaitable[Account]]


@pytest_asyncio.fixture(loop_scope="session")
async def member(wallet_server: WalletServer) -> AsyncIterator[MakeMember]:
    """A real account on the wallet server, signed in over HTTP: ``await member()`` (roles
    default to member)."""
    made: list[Account] = []

    async def make(*roles: Role, login: bool = True) -> Account:
        user = await create_user(wallet_server, frozenset(roles or {Role.MEMBER}))
        acct = Account(wallet_server.base_url, id=user.id, handle=user.handle, email=user.email)
        made.append(acct)
        if login:
            reply = await acct.login()
            assert reply.status == 200, reply.body
        return acct

    yield make
    for acct in made:
        await acct.close()


# ---- payouts ------------------------------------------------------------------------------


def assert_envelope(reply: Reply, status: int, code: str) -> None:
    body = reply.body
    assert (reply.status, body["status"], body["code"]) == (status, "error", code), body
    assert body["message"] and body["requestId"] and isinstance(body["meta"], dict)


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def payouts(wallet_server: WalletServer) -> Iterator[Payouts]:
    """The server's payout service with a small minimum; its clock is put back afterwards."""
    service = wallet_server.app[PAYOUTS]
    saved = (service.clock, service.minimum, service.reserve_bps)
    service.minimum = 100
    yield service
    service.clock, service.minimum, service.reserve_bps = saved


def shift(service: Payouts, days: int) -> None:
    """Move the payout service's "now" ``days`` ahead of the real time."""
    service.clock = lambda: datetime.now(UTC) + timedelta(days=days)


async def earn(server: WalletServer, creator: uuid.UUID, creator_share: int) -> uuid.UUID:
    """A viewer tips ``creator`` so that the creator earns ``creator_share`` tokens (80% of the
    tip: the schedule in force, no referrer); returns the tip's purchase."""
    assert creator_share % 4 == 0
    amount = creator_share * 5 // 4
    viewer = uuid.uuid4()
    purchase = await fund(server.ledger, viewer, amount)
    stream = await live_stream(server.pool, creator)
    outcome = await server.ledger.tip(
        IdempotencyKey(viewer, uuid.uuid4().hex), TipRequest(stream, amount)
    )
    assert outcome.ok and outcome.data["split"]["creator"] == creator_share, outcome
    return purchase


async def request(acct: Client, amount: Any, headers: dict[str, str] | None = None) -> Reply:
    return await acct.call(
        "POST", "/api/v1/payouts", json={"amount": amount}, headers=headers or key()
    )


async def make_old(server: WalletServer, user: uuid.UUID, days: int) -> None:
    """Backdate an account's creation (the users table, not the append-only ledger)."""
    await server.pool.execute(
        "UPDATE users SET created_at = now() - make_interval(days => $2) WHERE id = $1",
        user,
        days,
    )
