"""Signed-in chat users for tests: real accounts in the test database, signed in over HTTP.

The Socket.IO handshake authenticates with the same session cookie as the REST API, so a chat
client is a real account that signed in through ``POST /api/v1/auth/login``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from api.auth.rbac import Role
from api.auth.sessions import COOKIE
from tests.accounts import PASSWORD, create_user, unique_handle


@dataclass(frozen=True)
class ChatUser:
    user_id: uuid.UUID
    handle: str
    session: str  # the session cookie's value

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={self.session}"}


async def login(base_url: str, email: str, password: str = PASSWORD) -> str:
    """Sign in over HTTP; the session cookie's value."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(
            f"{base_url}/api/v1/auth/login", json={"email": email, "password": password}
        ) as res:
            assert res.status == 200, await res.text()
            return res.cookies[COOKIE].value


async def sign_in(
    server: Any, *roles: Role, prefix: str = "chat", base_url: str | None = None
) -> ChatUser:
    """A new account with ``roles`` (default: member), signed in on ``base_url`` (default: the
    server's own; any API process of the same database accepts the session)."""
    user = await create_user(server, frozenset(roles or {Role.MEMBER}), unique_handle(prefix))
    session = await login(base_url or server.base_url, user.email)
    return ChatUser(user.id, user.handle, session)
