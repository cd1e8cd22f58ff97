"""``/api/v1/admin``: granting and revoking roles, reading the audit log. Every change is audited.

Admins (``system.config_limited``) manage the roles below their own, on accounts below their
own; only a super admin may grant or revoke ``admin`` and ``super_admin`` (the rank rule of
`api.auth.rbac`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from api.auth import audit
from api.auth.ranks import check_may_act
from api.auth.rbac import Permission, Role, role_refusal
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.users import store as users
from api.users.errors import UserNotFound
from teezu.errors import Forbidden, NotFound

api = Api("admin")


class RootRequired(Forbidden):
    code = "ROOT_REQUIRED"


class RoleNotFound(NotFound):
    code = "ROLE_NOT_FOUND"


class RoleChange(Input):
    role: Role


class UserRoles(Output):
    id: uuid.UUID
    handle: str
    roles: list[Role]


class AuditQuery(Input):
    subject: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{1,30}$")
    action: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=50, ge=1, le=500)


class AuditEntry(Output):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    subject_id: uuid.UUID | None
    target: str | None
    ip: str | None
    meta: dict[str, Any]


async def _target(call: Call[Any, Any]) -> users.UserRow:
    handle = call.path("handle")
    user = await users.get_by_handle(call.app[POOL], handle) if len(handle) <= 30 else None
    if user is None:
        raise UserNotFound("no such user", meta={"handle": handle})
    return user


def _check_may_manage(call: Call[Any, Any], user: users.UserRow, role: Role, action: str) -> None:
    """The rank rule on the account, then on the role: only someone who outranks a role
    grants or revokes it (so only super admins make admins)."""
    if role_refusal(call.principal.roles, role) is not None:
        raise RootRequired(f"only a super admin may grant or revoke {role}")
    check_may_act(call.principal, user.id, user.roles, action=action)


async def _roles(call: Call[Any, Any], user_id: uuid.UUID) -> UserRoles:
    user = await users.get_by_id(call.app[POOL], user_id)
    assert user is not None
    return UserRoles(id=user.id, handle=user.handle, roles=sorted(user.roles))


@api.route(
    "POST",
    "/api/v1/admin/users/{handle}/roles",
    summary="Grant a role to a user",
    body=RoleChange,
    response=UserRoles,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
    ranked="role.grant",
)
async def grant_role(call: Call[RoleChange, None]) -> UserRoles:
    """403 `RANK_FORBIDDEN` on one's own account or one of an equal or higher role; 403
    `ROOT_REQUIRED` for a role at or above one's own."""
    user = await _target(call)
    role = call.body.role
    _check_may_manage(call, user, role, "role.grant")
    changed = await users.grant_role(call.app[POOL], user.id, role, by=call.principal.user_id)
    await audit.record(
        call.app[POOL],
        "admin.role.granted",
        actor_id=call.principal.user_id,
        subject_id=user.id,
        ip=call.ip,
        meta={"role": str(role), "changed": changed},
    )
    return await _roles(call, user.id)


@api.route(
    "DELETE",
    "/api/v1/admin/users/{handle}/roles/{role}",
    summary="Revoke a role from a user",
    response=UserRoles,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
    ranked="role.revoke",
)
async def revoke_role(call: Call[None, None]) -> UserRoles:
    user = await _target(call)
    try:
        role = Role(call.path("role"))
    except ValueError:
        raise RoleNotFound("no such role", meta={"role": call.path("role")}) from None
    _check_may_manage(call, user, role, "role.revoke")
    changed = await users.revoke_role(call.app[POOL], user.id, role)
    await audit.record(
        call.app[POOL],
        "admin.role.revoked",
        actor_id=call.principal.user_id,
        subject_id=user.id,
        ip=call.ip,
        meta={"role": str(role), "changed": changed},
    )
    return await _roles(call, user.id)


@api.route(
    "GET",
    "/api/v1/admin/audit-log",
    summary="Recent audit-log entries, newest first",
    query=AuditQuery,
    response=AuditEntry,
    paginated=True,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def audit_log(call: Call[None, AuditQuery]) -> Page[AuditEntry]:
    q = call.query
    subject_id = None
    if q.subject is not None:
        user = await users.get_by_handle(call.app[POOL], q.subject)
        if user is None:
            return Page([])
        subject_id = user.id
    rows = await audit.entries(
        call.app[POOL], subject_id=subject_id, action=q.action, limit=q.limit
    )
    return Page([AuditEntry.model_validate(r) for r in rows])
