"""Who is making a request: the `Principal`, and how a request's credentials become one.

The HTTP routes and the Socket.IO handshake both ask the app's `Authenticator` (stored under
`AUTHENTICATOR`) to turn request headers (the session cookie) into a `Principal`. Anonymous
callers get `ANONYMOUS`: they may read public things only (see `api.auth.rbac`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from api.auth.rbac import Permission, Role, permissions_of


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request or Socket.IO connection."""

    user_id: uuid.UUID | None
    handle: str | None = None
    roles: frozenset[Role] = frozenset({Role.VIEWER})
    session_id: str | None = None  # the hashed session id (never the cookie value)
    # Live platform memberships (plan names, api.memberships.plans): badges, limits.
    plans: frozenset[str] = frozenset()
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "permissions", permissions_of(self.roles))

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal(user_id=None)


class Authenticator(Protocol):
    """Turns request headers (cookies) into the caller's `Principal`."""

    async def principal(self, headers: Mapping[str, str]) -> Principal: ...


class AnonymousAuthenticator:
    """Everyone is anonymous: the default until accounts are configured."""

    async def principal(self, headers: Mapping[str, str]) -> Principal:
        return ANONYMOUS


AUTHENTICATOR: web.AppKey[Authenticator] = web.AppKey("authenticator", Authenticator)
