"""The served OpenAPI document matches the declared routes."""

from __future__ import annotations

import json

import pytest

from api.routing import ROUTES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_document_lists_every_declared_route(server, client):
    r = await client.call("GET", "/api/v1/openapi.json")
    assert r.status == 200 and r.body["openapi"].startswith("3.")
    doc = r.body
    schemas = doc["components"]["schemas"]
    for route in server.app[ROUTES]:
        op = doc["paths"][route.path][route.method.lower()]
        assert op["operationId"] == route.operation_id
        documented = {int(s) for s in op["responses"]}
        assert documented == {route.status, *route.statuses()}, route.path
        assert 429 in documented  # every API route is rate limited
        if route.permission is not None:
            assert {401, 403} <= documented and op["x-permission"] == str(route.permission)
            assert op["security"] == [{"session": []}]
        if route.paginated:
            ok = op["responses"][str(route.status)]["content"]["application/json"]["schema"]
            assert ok["properties"]["data"]["type"] == "array" and "nextCursor" in ok["properties"]
    # Operation ids are unique: the generated web client keys each operation's types by its
    # id, so two handlers with one name would give one of them the other's types.
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
    # Every $ref resolves.
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_query_models_become_parameters(client):
    doc = (await client.call("GET", "/api/v1/openapi.json")).body
    params = {p["name"]: p for p in doc["paths"]["/api/v1/streams"]["get"]["parameters"]}
    assert set(params) == {"state", "creator", "q", "tag", "rating", "language", "limit", "cursor"}
    assert params["limit"]["schema"]["maximum"] == 100 and not params["limit"]["required"]
    follow = doc["paths"]["/api/v1/users/{handle}/followers"]["get"]
    assert {p["name"] for p in follow["parameters"]} == {"handle", "limit", "offset"}
    assert "offset" in follow["summary"]
    signup = doc["paths"]["/api/v1/auth/signup"]["post"]
    body = signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = doc["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert {"email", "handle", "password", "dateOfBirth"} <= set(fields)
