"""``GET /api/v1/admin/users``: the accounts an administrator manages, searched and paginated.

Roles are changed through ``/api/v1/admin/users/{handle}/roles`` (`api.admin.routes`: the rank
rule and the audit log apply there). The list shows what managing an account needs (handle,
display name, roles, standing, age of the account); an email address is a search key (exact,
for support cases) but is not shown. Erased accounts are not listed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from api import cursors
from api.auth.rbac import Permission, Role
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output

api = Api("admin")


class UserQuery(Input):
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=254,
        description="A part of the handle or display name, or an exact email address",
    )
    role: Role | None = None
    status: Literal["active", "suspended", "banned"] | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


class AdminUser(Output):
    id: uuid.UUID
    handle: str
    display_name: str
    roles: list[Role]
    status: str
    suspended_until: datetime | None
    created_at: datetime


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its wildcards taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_LIST = """
SELECT u.id, u.handle, coalesce(p.display_name, '') AS display_name, u.status,
       u.suspended_until, u.created_at,
       coalesce(array_agg(r.role ORDER BY r.role) FILTER (WHERE r.role IS NOT NULL), '{}')
           AS roles
FROM users u
LEFT JOIN profiles p ON p.user_id = u.id
LEFT JOIN user_roles r ON r.user_id = u.id
WHERE u.status <> 'erased'
  AND ($1::text IS NULL OR u.handle ILIKE $2 OR p.display_name ILIKE $2 OR u.email = lower($1))
  AND ($3::text IS NULL OR EXISTS (
        SELECT 1 FROM user_roles x WHERE x.user_id = u.id AND x.role = $3))
  AND ($4::text IS NULL OR u.status = $4)
  AND ($5::timestamptz IS NULL OR (u.created_at, u.id) < ($5, $6))
GROUP BY u.id, p.display_name
ORDER BY u.created_at DESC, u.id DESC
LIMIT $7
"""


@api.route(
    "GET",
    "/api/v1/admin/users",
    summary="Search accounts (newest first)",
    query=UserQuery,
    response=AdminUser,
    paginated=True,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def admin_users(call: Call[None, UserQuery]) -> Page[AdminUser]:
    """``q`` matches a part of the handle or display name, or an email address exactly;
    ``cursor`` continues from the previous page's ``nextCursor``."""
    q = call.query
    after = cursors.decode(q.cursor)
    text = q.q.strip().lstrip("@") if q.q else None
    rows = await call.app[POOL].fetch(
        _LIST,
        text or None,
        _like(text) if text else None,
        str(q.role) if q.role else None,
        q.status,
        after[0] if after else None,
        after[1] if after else None,
        q.limit,
    )
    items = [AdminUser.model_validate(dict(r)) for r in rows]
    more = cursors.encode(rows[-1]["created_at"], rows[-1]["id"]) if len(rows) == q.limit else None
    return Page(items, more)
