"""The router hands handlers typed path ids (`api.routing.IdParam`): a real aiohttp server with
the envelope middleware, and the declarations of every route module."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import Field

import api
from api.auth.principal import ANONYMOUS
from api.envelope import envelope_middleware
from api.routing import PRINCIPAL, Api, Call, IdParam
from api.schema import Input
from teezu.errors import NotFound


class WidgetNotFound(NotFound):
    code = "WIDGET_NOT_FOUND"


WIDGET_ID = IdParam(WidgetNotFound, "no such widget", "widgetId")


class Query(Input):
    n: int = Field(default=1, ge=1)


def _app(seen: list[Any]) -> web.Application:
    routes = Api("test")

    @routes.route(
        "GET",
        "/widgets/{widget_id}/parts/{part_id}",
        summary="a widget's part",
        query=Query,
        path_formats={"widget_id": WIDGET_ID, "part_id": "uuid"},
    )
    async def part(call: Call[None, Query]) -> dict[str, str]:
        seen.append((call.id("widget_id"), call.id("part_id")))
        return {"widget": str(call.id("widget_id"))}

    @web.middleware
    async def anonymous(request: web.Request, handler: Any) -> web.StreamResponse:
        request[PRINCIPAL] = ANONYMOUS
        return await handler(request)

    app = web.Application(middlewares=[envelope_middleware, anonymous])
    routes.add_to(app)
    return app


async def _get(path: str) -> tuple[int, dict[str, Any], list[Any]]:
    seen: list[Any] = []
    async with TestServer(_app(seen)) as server, aiohttp.ClientSession() as http:
        async with http.get(server.make_url(path)) as resp:
            return resp.status, await resp.json(), seen


async def test_the_handler_gets_uuids():
    widget, part = uuid.uuid4(), uuid.uuid4()
    status, body, seen = await _get(f"/widgets/{widget}/parts/{part}")
    assert status == 200 and body["data"] == {"widget": str(widget)}
    assert seen == [(widget, part)]
    assert all(isinstance(v, uuid.UUID) for v in seen[0])


@pytest.mark.parametrize(
    ("path", "status", "code", "meta"),
    [
        # A malformed id is answered as an unknown one: the declared 404, the handler not run.
        (
            f"/widgets/not-a-uuid/parts/{uuid.UUID(int=0x5EED1)}",
            404,
            "WIDGET_NOT_FOUND",
            {"widgetId": "not-a-uuid"},
        ),
        # A plain "uuid" format: the generic 404.
        (f"/widgets/{uuid.UUID(int=0x5EED2)}/parts/nope", 404, "NOT_FOUND", {"id": "nope"}),
        # In path order: the first malformed id answers.
        ("/widgets/a/parts/b", 404, "WIDGET_NOT_FOUND", {"widgetId": "a"}),
        # The envelope does not echo a long value whole.
        (
            "/widgets/" + "x" * 500 + f"/parts/{uuid.UUID(int=0x5EED3)}",
            404,
            "WIDGET_NOT_FOUND",
            {"widgetId": "x" * 64},
        ),
        # What is checked before the ids keeps its answer: the text rule of the path, the query.
        ("/widgets/a%00b/parts/c", 422, "VALIDATION_ERROR", None),
        ("/widgets/a/parts/b?n=0", 422, "VALIDATION_ERROR", None),
    ],
)
async def test_malformed_ids_are_refused_before_the_handler(path, status, code, meta):
    got, body, seen = await _get(path)
    assert (got, body["status"], body["code"]) == (status, "error", code)
    if meta is not None:
        assert body["meta"] == meta
    assert seen == []


def _declared_routes() -> list[Any]:
    out = []
    for info in pkgutil.walk_packages(api.__path__, "api."):
        if info.name.rpartition(".")[2].endswith("routes"):
            declared = getattr(importlib.import_module(info.name), "api", None)
            if isinstance(declared, Api):
                out += declared.routes
    return out


# Path parameters named like ids that are not UUIDs.
NOT_UUIDS = {
    ("/api/v1/auth/sessions/{session_id}", "session_id"),  # the hex of a hashed session id
}


def test_every_id_in_a_path_is_parsed_by_the_router():
    """Each ``{..._id}`` of every route is an `IdParam` with its domain's 404, so no handler
    parses one by hand (and the OpenAPI document says ``format: uuid``)."""
    routes = _declared_routes()
    assert len(routes) > 100
    ids = 0
    for route in routes:
        for name in route.path_params:
            if not name.endswith("_id") or (route.path, name) in NOT_UUIDS:
                continue
            declared = route.path_formats.get(name)
            assert isinstance(declared, IdParam), f"{route.method} {route.path}: {name}"
            assert route.path_format(name) == "uuid"
            ids += 1
    assert ids >= 70  # 75 when written: the walk found the route modules
