"""The AI levels gate the companion and twin routes (role × route), their quotas, the debug
level's scores, and GDPR export and erasure of the AI documents in MongoDB."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import pytest

from api.ai import store
from api.ai.levels import daily_quota
from api.auth.principal import Principal
from api.auth.rbac import Role
from api.keys import DOCUMENTS
from api.privacy.exports import EXPORTER
from tests.accounts import Account
from tests.conftest import MakeAccount, Server

BASIC = [
    ("GET", "/api/v1/ai/personas", None),
    ("POST", "/api/v1/ai/personas/velvet/messages", {"prompt": "hi there"}),
    ("GET", "/api/v1/ai/personas/velvet/messages", None),
    ("GET", "/api/v1/ai/personas/velvet/memory", None),
    ("DELETE", "/api/v1/ai/personas/velvet/memory", None),
    ("GET", "/api/v1/ai/twins/nobody_here", None),
    ("POST", "/api/v1/ai/twins/nobody_here/messages", {"prompt": "hi"}),
]
CREATOR = [
    ("GET", "/api/v1/ai/twin", None),
    ("PUT", "/api/v1/ai/twin", {"enabled": False}),
]
HAS_CREATOR_LEVEL = {Role.CREATOR, Role.SUPER_ADMIN}


@pytest.mark.parametrize("role", list(Role))
async def test_the_ai_levels_gate_the_companion_and_twin_routes(
    role: Role, account: MakeAccount, client: Any
) -> None:
    acct = await account(role)
    for method, path, body in BASIC + CREATOR:
        kw = {"json": body} if body is not None else {}
        reply = await acct.call(method, path, **kw)
        denied = role is Role.VIEWER or (
            (method, path, body) in CREATOR and role not in HAS_CREATOR_LEVEL
        )
        if denied:
            assert (reply.status, reply.code) == (403, "FORBIDDEN"), (role, path, reply.body)
        else:
            assert reply.status in (200, 204, 404), (role, path, reply.body)
            if "nobody_here" in path:
                assert reply.code == "TWIN_NOT_FOUND"
        anon = await client.call(method, path, **kw)
        assert anon.status == 401, (path, anon.body)


@pytest.mark.parametrize(
    ("role", "quota"),
    [
        (Role.MEMBER, 30),
        (Role.MEMBER_PLUS, 200),
        (Role.MODERATOR, 200),
        (Role.ADMIN, 200),
        (Role.PROVIDER, 500),
        (Role.CREATOR, 500),
        (Role.SUPER_ADMIN, None),
    ],
)
def test_daily_quota_per_level(role: Role, quota: int | None) -> None:
    assert daily_quota(Principal(uuid.uuid4(), "x", frozenset({role}))) == quota


async def test_debug_level_sees_the_sources_scores(account: MakeAccount) -> None:
    root = await account(Role.SUPER_ADMIN)
    r = await root.call(
        "POST", "/api/v1/ai/personas/nova/messages", json={"prompt": "let's play a game"}
    )
    assert r.status == 200 and r.data["sources"]
    assert all(isinstance(s["score"], float) for s in r.data["sources"])


async def _export(server: Server, acct: Account) -> dict[str, Any]:
    r = await acct.call("POST", "/api/v1/me/export")
    assert r.status == 202, r.body
    await server.app[EXPORTER].wait(acct.id)
    status = (await acct.call("GET", f"/api/v1/me/exports/{r.data['id']}")).data
    assert status["status"] == "done", status
    async with acct.session.get(acct.base_url + status["downloadUrl"]) as res:
        raw = await res.read()
    data: dict[str, Any] = json.loads(zipfile.ZipFile(io.BytesIO(raw)).read("ai.json"))
    return data


async def test_gdpr_export_and_erasure_cover_the_ai_documents(
    server: Server, account: MakeAccount
) -> None:
    creator = await account(Role.CREATOR)
    member = await account(Role.MEMBER)
    docs = server.app[DOCUMENTS]
    assert (await creator.call("PUT", "/api/v1/ai/twin", json={"enabled": True})).status == 200
    r = await member.call(
        "POST", "/api/v1/ai/personas/luna/messages", json={"prompt": "my name is Robin, a story?"}
    )
    assert r.status == 200
    r = await member.call(
        "POST", f"/api/v1/ai/twins/{creator.handle}/messages", json={"prompt": "how are you?"}
    )
    assert r.status == 200, r.body

    mine = await _export(server, member)
    assert [c["prompt"] for c in mine["conversations"]] == [
        "my name is Robin, a story?",
        "how are you?",
    ]
    assert mine["companionMemories"][0]["facts"] == ["name: Robin"] and mine["twin"] is None
    theirs = await _export(server, creator)
    assert theirs["twin"]["enabled"] and len(theirs["conversations"]) == 1

    for acct in (member, creator):
        r = await acct.call("DELETE", "/api/v1/me", json={"password": acct.password})
        assert r.status == 200, r.body
        left = await store.export_user(docs, acct.id)
        assert left == {"twin": None, "memories": [], "conversations": []}, left
