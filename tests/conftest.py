"""Shared fixtures: one embedded PostgreSQL and one real server (real port) per test session.

Set ``TEEZU_TEST_DATABASE_URL`` to run against another PostgreSQL instead of the embedded one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web

from api.app import create_app
from api.keys import POOL
from api.streams import store
from ingest.whip import PUBLISHERS, Publishers
from teezu.embedded_pg import EmbeddedPostgres, default_data_dir
from teezu.logging import configure_logging
from teezu.settings import Settings


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
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    configure_logging("console", "INFO")
    return Settings(
        port=free_port(),
        var_dir=tmp_path_factory.mktemp("var"),
        publisher_media_timeout=4.0,
        node_id="test-node",
    )


@dataclass
class Server:
    base_url: str
    app: web.Application
    settings: Settings

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[POOL]

    @property
    def publishers(self) -> Publishers:
        return self.app[PUBLISHERS]

    @property
    def media_dir(self) -> Path:
        return self.settings.media_dir


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server(pg_dsn: str, settings: Settings) -> AsyncIterator[Server]:
    app = create_app(settings, dsn=pg_dsn)
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


NewStream = Callable[..., Awaitable[tuple[str, str]]]


@pytest.fixture
def new_stream(server: Server) -> NewStream:
    """Create a stream; returns ``(stream_id, publish_token)``."""

    async def create(title: str = "Test stream", creator: str = "tester") -> tuple[str, str]:
        row, token = await store.create_stream(server.pool, title=title, creator_handle=creator)
        return str(row.id), token

    return create
