"""Every declared route with a permission refuses each role the matrix does not grant it to."""

from __future__ import annotations

import re
import uuid

import pytest

from api.auth.rbac import Role, roles_with
from api.routing import ROUTES

pytestmark = pytest.mark.asyncio(loop_scope="session")


def concrete(path: str) -> str:
    """Fill path parameters with plausible values (the permission check comes first)."""
    return re.sub(
        r"\{[^}]+\}", lambda m: "member" if "role" in m.group(0) else str(uuid.uuid4()), path
    )


async def test_every_guarded_route_refuses_the_roles_without_its_permission(
    server, account, client
):
    guarded = [r for r in server.app[ROUTES] if r.permission is not None]
    assert {r.operation_id for r in guarded} >= {
        "create_stream",
        "update_stream",
        "publish_credentials",
        "grant_role",
        "revoke_role",
        "audit_log",
    }
    accounts = {role: await account(role) for role in Role}
    checked = 0
    for route in guarded:
        path = concrete(route.path)
        body = {} if route.body is not None else None
        anon = await client.call(route.method, path, json=body)
        assert (anon.status, anon.code) == (401, "UNAUTHENTICATED"), (route.path, anon.body)
        allowed = roles_with(route.permission)
        for role, acct in accounts.items():
            r = await acct.call(route.method, path, json=body)
            if role in allowed:
                assert r.status != 403 or r.code != "FORBIDDEN", (route.path, role, r.body)
            else:
                assert (r.status, r.code) == (403, "FORBIDDEN"), (route.method, route.path, role)
                assert r.body["meta"]["permission"] == str(route.permission)
                checked += 1
    assert checked >= len(guarded) * 3


async def test_only_a_super_admin_manages_admins(server, account):
    admin = await account(Role.ADMIN)
    root = await account(Role.SUPER_ADMIN)
    target = await account()
    path = f"/api/v1/admin/users/{target.handle}/roles"
    r = await admin.call("POST", path, json={"role": "creator"})
    assert r.status == 200 and "creator" in r.data["roles"]
    r = await admin.call("POST", path, json={"role": "admin"})
    assert (r.status, r.code) == (403, "ROOT_REQUIRED")
    r = await root.call("POST", path, json={"role": "admin"})
    assert r.status == 200 and "admin" in r.data["roles"]
    # The target's permissions change on their very next request (no re-login).
    me = await target.call("GET", "/api/v1/auth/me")
    assert "system.config_limited" in me.data["permissions"]
    r = await admin.call("DELETE", f"{path}/admin")
    assert (r.status, r.code) == (403, "ROOT_REQUIRED")
    r = await root.call("DELETE", f"{path}/admin")
    assert r.status == 200 and "admin" not in r.data["roles"]
    r = await admin.call("DELETE", f"{path}/creator")
    assert r.status == 200 and r.data["roles"] == ["member"]
    assert "stream.publish" not in (await target.call("GET", "/api/v1/auth/me")).data["permissions"]
    bad = await admin.call("POST", path, json={"role": "emperor"})
    assert (bad.status, bad.code) == (422, "VALIDATION_ERROR")
    nobody = await admin.call(
        "POST", "/api/v1/admin/users/nobody_here_x/roles", json={"role": "creator"}
    )
    assert (nobody.status, nobody.code) == (404, "USER_NOT_FOUND")

    log = await admin.call("GET", f"/api/v1/admin/audit-log?subject={target.handle}")
    assert log.status == 200
    grants = [e for e in log.data if e["action"].startswith("admin.role.")]
    assert len(grants) == 4 and {e["actorId"] for e in grants} == {str(admin.id), str(root.id)}
    assert {e["meta"]["role"] for e in grants} == {"creator", "admin"}
