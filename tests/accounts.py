"""Test accounts: real users in the test database, signed in over HTTP with their own cookies."""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp

from api.auth.passwords import HASHER
from api.auth.rbac import Role
from api.users import store as users

PASSWORD = "correct horse battery"
_seq = itertools.count()


def unique_handle(prefix: str = "u") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_seq)}_{uuid.uuid4().hex[:6]}"[:30]


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def data(self) -> Any:
        return self.body["data"]


@dataclass
class Client:
    """An HTTP client with its own cookie jar (one browser, in effect)."""

    base_url: str
    session: aiohttp.ClientSession = field(
        default_factory=lambda: aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    )

    async def call(self, method: str, path: str, **kw: Any) -> Reply:
        async with self.session.request(method, self.base_url + path, **kw) as res:
            raw = await res.read()
            try:
                body: Any = await res.json(content_type=None) if raw else None
            except ValueError:
                body = raw
            return Reply(res.status, body, res.headers)

    def cookie(self, name: str = "session") -> str | None:
        for c in self.session.cookie_jar:
            if c.key == name:
                return c.value
        return None

    async def close(self) -> None:
        await self.session.close()


@dataclass
class Account(Client):
    id: uuid.UUID = uuid.UUID(int=0)
    handle: str = ""
    email: str = ""
    password: str = PASSWORD

    async def login(self) -> Reply:
        return await self.call(
            "POST", "/api/v1/auth/login", json={"email": self.email, "password": self.password}
        )


async def create_user(
    server: Any, roles: frozenset[Role], handle: str | None = None
) -> users.UserRow:
    handle = handle or unique_handle()
    hashed = await server.app[HASHER].hash(PASSWORD)
    return await users.create_user(
        server.pool,
        email=f"{handle}@example.org",
        handle=handle,
        password_hash=hashed,
        date_of_birth=date(1990, 1, 1),
        roles=roles,
    )
