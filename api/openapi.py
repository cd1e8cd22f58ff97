"""The OpenAPI 3.1 document, generated from the declared routes (`api.routing`). Pure functions.

Served at ``GET /api/v1/openapi.json``. Request and response schemas come from the same pydantic
models the routes validate with; every declared error status points at the error envelope.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from api.routing import ERROR_DESCRIPTIONS, ROUTES, Route

REF = "#/components/schemas/{model}"

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["status", "code", "message", "requestId", "meta"],
    "properties": {
        "status": {"const": "error"},
        "code": {"type": "string", "description": "stable machine code, e.g. RATE_LIMITED"},
        "message": {"type": "string"},
        "requestId": {"type": "string", "description": "also in the X-Request-Id header"},
        "retryAfter": {"type": "integer", "description": "seconds, on 429"},
        "meta": {"type": "object"},
    },
}


class _Schemas:
    """Collects component schemas, one per model, with their nested definitions."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"ErrorEnvelope": ERROR_ENVELOPE}

    def ref(
        self, model: type[BaseModel], mode: Literal["validation", "serialization"] = "validation"
    ) -> dict[str, str]:
        schema = model.model_json_schema(by_alias=True, ref_template=REF, mode=mode)
        self.add_defs(schema)
        self.add(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}

    def add(self, name: str, schema: dict[str, Any]) -> None:
        """One component per name: two models of one name (in different packages) would
        otherwise share one schema, and the generated client would type one as the other."""
        existing = self.components.get(name)
        if existing is not None and existing != schema:
            raise ValueError(f"two different schemas are both named {name}")
        self.components[name] = schema

    def add_defs(self, schema: dict[str, Any]) -> None:
        for name, sub in schema.pop("$defs", {}).items():
            self.add(name, sub)


def _parameters(route: Route, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in route.path_params:
        schema: dict[str, Any] = {"type": "string"}
        path_format = route.path_format(name)
        if path_format is not None:
            schema["format"] = path_format
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    for header in route.headers:
        header_schema: dict[str, Any] = {"type": "string"}
        if header.pattern is not None:
            header_schema["pattern"] = header.pattern
        if header.max_length is not None:
            header_schema["maxLength"] = header.max_length
        params.append(
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "schema": header_schema,
                "description": header.description,
            }
        )
    if route.query is not None:
        full = route.query.model_json_schema(by_alias=True, ref_template=REF)
        schemas.add_defs(full)
        required = set(full.get("required", []))
        for name, prop in full.get("properties", {}).items():
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": prop,
                    **({"description": prop["description"]} if "description" in prop else {}),
                }
            )
    return params


def _success(route: Route, schemas: _Schemas) -> dict[str, Any]:
    if route.status == 204:
        return {"description": "Done (no content)"}
    if route.produces is not None:
        schema = {"type": "string", "format": "binary"}
        if route.produces == "text/event-stream":
            schema = {"type": "string"}
        media = (route.produces, *route.also_produces)
        return {"description": route.summary, "content": {m: {"schema": schema} for m in media}}
    data: dict[str, Any] = (
        schemas.ref(route.response, "serialization") if route.response else {"type": "object"}
    )
    properties: dict[str, Any] = {"status": {"const": "ok"}}
    if route.paginated:
        properties["data"] = {"type": "array", "items": data}
        properties["nextCursor"] = {
            "type": ["string", "null"],
            "description": "pass as ?cursor= for the next page; null on the last page",
        }
    else:
        properties["data"] = data
    content: dict[str, Any] = {
        "application/json": {
            "schema": {
                "type": "object",
                "required": list(properties),
                "properties": properties,
            }
        }
    }
    for media_type in route.also_produces:
        content[media_type] = {"schema": {"type": "string"}}
    return {"description": route.summary, "content": content}


def operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": list(route.tags),
        "parameters": _parameters(route, schemas),
        "responses": {str(route.status): _success(route, schemas)},
    }
    doc = (route.handler.__doc__ or "").strip()
    if doc:
        op["description"] = doc
    notes = []
    if route.permission is not None:
        notes.append(f"Needs permission `{route.permission}`.")
    elif route.auth:
        notes.append("Needs a signed-in caller.")
    if route.rate_limit is not None:
        notes.append(
            f"Rate limit: {route.rate_limit.requests} requests per {route.rate_limit.window} s."
        )
    if notes:
        op["description"] = (op.get("description", "") + "\n\n" + " ".join(notes)).strip()
    if route.permission is not None or route.auth:
        op["security"] = [{"session": []}]
    op["x-permission"] = str(route.permission) if route.permission else None
    if route.ranked is not None:
        op["x-ranked-action"] = route.ranked
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(route.body)}},
        }
    elif route.raw_body:
        op["requestBody"] = {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}} for t in route.raw_body
            },
        }
    for status in route.statuses():
        op["responses"][str(status)] = {
            "description": ERROR_DESCRIPTIONS.get(status, "Error"),
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}
            },
        }
    return op


def document(routes: list[Route], *, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TeezU Live API",
            "version": "1",
            "description": "Errors use one envelope: "
            '{"status":"error","code","message","requestId","meta"}.',
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


async def serve_openapi(request: web.Request) -> web.Response:
    cache = request.app[OPENAPI]
    if not cache:  # built once, on first request (every route is registered by then)
        cache.update(document(request.app[ROUTES]))
    return web.json_response(cache, headers={"Cache-Control": "no-cache"})


OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi", dict)


def add_routes(app: web.Application) -> None:
    app[OPENAPI] = {}
    app.router.add_get("/api/v1/openapi.json", serve_openapi)
