"""Shared fixtures: one embedded PostgreSQL and one real server (real port) per test session.

Set ``TEEZU_TEST_DATABASE_URL`` to run against another PostgreSQL instead of the embedded one.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web
from blockbuster import blockbuster_ctx

from api.app import create_app
from api.keys import POOL
from live.broadcasts import BROADCASTS, LiveBroadcasts
from teezu.embedded_pg import EmbeddedPostgres, default_data_dir
from teezu.logging import configure_logging
from teezu.settings import Settings
from tests.accounts import Account, Client, create_user
from tests.identity import verify
from tests.performers import check_in, make_ready, stream_of

# The packages whose calls blockbuster watches during every async test: a blocking call made from
# them on the event loop fails the test (CPU and file work go to a thread).
OUR_CODE = ["api", "engine", "hls", "ingest", "teezu", "workers"]


@pytest.fixture(autouse=True)
def _no_blocking_calls_on_the_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every async test runs with blockbuster on for our packages (sync tests have no loop)."""
    if not inspect.iscoroutinefunction(getattr(request, "function", None)):
        yield
        return
    with blockbuster_ctx(OUR_CODE) as bb:
        # Third-party internals that block briefly, allowed with their reason:
        # asyncpg stats ~/.pgpass on every new connection (connect_utils, before any await);
        bb.functions["os.stat"].can_block_in("asyncpg/connect_utils.py", "_read_password_file")
        # redis-py reads its own version from the installed metadata when a client is made.
        bb.functions["os.stat"].can_block_in("redis/utils.py", "get_lib_version")
        bb.functions["io.TextIOWrapper.read"].can_block_in("redis/utils.py", "get_lib_version")
        # ProcessPoolExecutor.submit (run_in_executor) wakes its manager thread with a one-byte
        # write to a pipe (the moderation and scanning worker pools).
        bb.functions["os.write"].can_block_in("concurrent/futures/process.py", "wakeup")
        # The console log renderer (rich) stats source files to print a logged exception's
        # traceback; `teezu serve` logs JSON in production.
        bb.functions["os.stat"].can_block_in("rich/traceback.py", "_render_stack")
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("TEEZU_TEST_DATABASE_URL")
    if external:
        yield external
        return
    pg = EmbeddedPostgres(default_data_dir(tmp_path_factory.mktemp("pgvar")))
    yield pg.start()
    pg.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A private redis-server (installed by scripts/setup.sh), never the machine's own."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server missing: run scripts/setup.sh --test"
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path_factory.mktemp("redis")),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if ping.stdout.strip() == b"PONG":
            break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    configure_logging("console", "INFO")
    return Settings(
        port=free_port(),
        edge_port=free_port(),  # the LL-HLS edge (hls/edge.py), in the same process
        var_dir=tmp_path_factory.mktemp("var"),
        # A publisher that stops sending is ended after 4 s instead of 10: the tests that drop
        # one wait less (the timeout's own behaviour does not depend on its length).
        publisher_media_timeout=4.0,
        node_id="test-node",
        # The suite makes thousands of API requests from 127.0.0.1 to this one server; the
        # default 100/min is proven by tests/integration/test_ratelimit.py on its own server.
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        comment_rate_limit=1_000_000,
        message_rate_limit=1_000_000,
        swipe_rate_limit=1_000_000,
        # Every test signs in from 127.0.0.1: per-IP back-off is tested with its own threshold.
        login_backoff_ip_after=1_000_000,
        # bcrypt at the product's cost 12 is a quarter second per hash; the suite signs up and
        # in hundreds of times. tests/unit/test_auth_logic.py checks cost 12 is the default.
        bcrypt_rounds=4,
        # Moderation workers would add an inference per sampled frame to every broadcast of the
        # suite (2 cores); tests/integration/test_moderation.py runs its own server with them.
        moderation_enabled=False,
        # Likewise post and avatar scanning (a worker process); tests/integration/test_posts.py
        # runs its own server with it.
        post_scan_enabled=False,
        # Going live needs verified, checked-in performers, as in production: the streams of
        # ``new_stream`` belong to ``performer`` (verified once through the review API) and are
        # checked in; tests with a creator of their own use the ``ready`` fixture.
        # Adult-rated streams (the default rating) need an age-gated playback token in
        # production; the suite's viewers would each need an age check before every playlist
        # request. tests/integration/test_age_gate.py proves the gate on its own server and
        # the README's path (tests/e2e/test_readme_path.py) runs with it on.
        age_gate_enabled=False,
        # The vibe index's background pass would load the embedding model in a worker process
        # for every run of the suite; tests/integration/test_matching.py calls refresh() itself.
        ai_vibe_refresh=86_400.0,
        # Likewise the mood analysis of every chat message of the suite;
        # tests/integration/test_mood.py runs a server of its own with it.
        mood_enabled=False,
    )


@dataclass
class Server:
    base_url: str
    app: web.Application
    settings: Settings

    @property
    def edge_url(self) -> str:
        """Base URL of the LL-HLS edge serving the same /hls/ paths."""
        return f"http://127.0.0.1:{self.settings.edge_listen_port}"

    def hls_url(self, which: str) -> str:
        """Base URL of ``which`` HLS server: "app" (hls/origin.py) or "edge" (hls/edge.py)."""
        return self.edge_url if which == "edge" else self.base_url

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[POOL]

    @property
    def broadcasts(self) -> LiveBroadcasts:
        return self.app[BROADCASTS]

    @property
    def media_dir(self) -> Path:
        return self.settings.media_dir


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server(pg_dsn: str, settings: Settings) -> AsyncIterator[Server]:
    app = await asyncio.to_thread(create_app, settings, dsn=pg_dsn)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    yield Server(f"http://127.0.0.1:{settings.port}", app, settings)
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=["app", "edge"])
def hls_server(request: pytest.FixtureRequest) -> str:
    """Which server answers /hls/ in a test run twice: the aiohttp origin, then the edge."""
    return str(request.param)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reviewer(server: Server) -> AsyncIterator[Account]:
    """A signed-in moderator who reviews identity records through the API, as a real one does."""
    from api.auth.rbac import Role

    user = await create_user(server, frozenset({Role.MODERATOR}))
    acct = Account(server.base_url, id=user.id, handle=user.handle, email=user.email)
    assert (await acct.login()).status == 200
    yield acct
    await acct.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def performer(server: Server, reviewer: Account) -> AsyncIterator[Account]:
    """The suite's signed-in creator, verified once through the real review flow.

    The streams of ``new_stream`` are theirs: one verification serves every such test.
    """
    from api.auth.rbac import Role

    user = await create_user(server, frozenset({Role.CREATOR}))
    acct = Account(server.base_url, id=user.id, handle=user.handle, email=user.email)
    assert (await acct.login()).status == 200
    await verify(acct, reviewer)
    yield acct
    await acct.close()


NewStream = Callable[..., Awaitable[tuple[str, str]]]


@pytest.fixture
def new_stream(server: Server, performer: Account) -> NewStream:
    """``await new_stream(title, visibility=..., recording=...)``: a stream of ``performer``,
    checked in for its first broadcast; returns ``(stream_id, publish_token)``. A second
    broadcast needs ``check_in_again``."""

    async def create(title: str = "Test stream", **kw: Any) -> tuple[str, str]:
        return await stream_of(server.pool, performer, title, **kw)

    return create


CheckIn = Callable[[str], Awaitable[None]]


@pytest.fixture
def check_in_again(performer: Account) -> CheckIn:
    """``await check_in_again(stream_id)``: ``performer`` checks in for a ``new_stream``'s next
    broadcast (each broadcast needs its own check-in)."""

    async def again(stream_id: str) -> None:
        await check_in(performer, stream_id)

    return again


MakeReady = Callable[..., Awaitable[None]]


@pytest.fixture
def ready(reviewer: Account) -> MakeReady:
    """``await ready(stream_id, *accounts)``: each verified through the review API (once) and
    checked in for the stream's next broadcast."""

    async def make(stream_id: str, *performers: Account) -> None:
        await make_ready(stream_id, *performers, reviewer=reviewer)

    return make


MakeAccount = Callable[..., Awaitable[Account]]


@pytest_asyncio.fixture(loop_scope="session")
async def account(server: Server) -> AsyncIterator[MakeAccount]:
    """Make a signed-in account: ``await account(Role.CREATOR)`` (default: a member)."""
    from api.auth.rbac import Role

    made: list[Account] = []

    async def make(*roles: Role, handle: str | None = None, login: bool = True) -> Account:
        user = await create_user(server, frozenset(roles or {Role.MEMBER}), handle)
        acct = Account(server.base_url, id=user.id, handle=user.handle, email=user.email)
        made.append(acct)
        if login:
            reply = await acct.login()
            assert reply.status == 200, reply.body
        return acct

    yield make
    for acct in made:
        await acct.close()


@pytest_asyncio.fixture(loop_scope="session")
async def client(server: Server) -> AsyncIterator[Client]:
    """An anonymous HTTP client with its own cookie jar."""
    c = Client(server.base_url)
    yield c
    await c.close()


# Under xdist (-n 2 --dist loadgroup; docs/testing.md, "Running in parallel"): each
# file is one unit of work (its module fixtures start once); Chromium journeys and benchmark
# smokes share the "heavy" group, so at most one of them runs at a time.
HEAVY = ("tests/e2e/", "tests/loadtests/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        path = item.nodeid.split("::", 1)[0]
        group = "heavy" if path.startswith(HEAVY) else path
        item.add_marker(pytest.mark.xdist_group(group))
