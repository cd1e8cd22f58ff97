"""The real `Authenticator`: the session cookie → a `Principal` (one indexed lookup per call).

HTTP routes get the caller through `principal_middleware` (API paths only: media and pages
never pay for the lookup); the Socket.IO handshake calls ``app[AUTHENTICATOR].principal``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from aiohttp import web

from api.auth import sessions
from api.auth.principal import ANONYMOUS, AUTHENTICATOR, Principal
from api.auth.rbac import Role
from api.memberships.plans import roles_granted
from api.routing import PRINCIPAL
from teezu.settings import Settings


class SessionAuthenticator:
    """Looks the session cookie up in ``sessions``; a revoked or expired one is anonymous.

    ``pool`` is the asyncpg pool, or a function returning it: the app's pool opens at start-up,
    after `create_app` has set ``app[AUTHENTICATOR]``.
    """

    def __init__(self, pool: asyncpg.Pool | Callable[[], asyncpg.Pool], settings: Settings) -> None:
        self._pool = pool
        self.settings = settings

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool() if callable(self._pool) else self._pool

    async def principal(self, headers: Mapping[str, str]) -> Principal:
        value = sessions.cookie_value(headers)
        if value is None:
            return ANONYMOUS
        id_hash = sessions.hash_id(value)
        row = await sessions.lookup(self.pool, id_hash, self.settings)
        if row is None:
            return ANONYMOUS
        # Everyone may view safe content; the roles granted add to that, and so do those a
        # live membership grants (plus and above: Member+; api.memberships.plans).
        plans = frozenset(row["plans"])
        roles = frozenset(Role(r) for r in row["roles"]) | {Role.VIEWER} | roles_granted(plans)
        return Principal(
            user_id=row["user_id"],
            handle=row["handle"],
            roles=roles,
            session_id=id_hash.hex(),
            plans=plans,
        )


@web.middleware
async def principal_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        request[PRINCIPAL] = await request.app[AUTHENTICATOR].principal(request.headers)
    else:
        request[PRINCIPAL] = ANONYMOUS
    return await handler(request)
