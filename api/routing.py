"""Declarative API routes: one decorator per endpoint, read by both aiohttp and the OpenAPI writer.

A route declares its method, path, request models (JSON body, query string), response model,
success status, the error statuses it may answer, whether it needs a signed-in caller and which
`Permission`, the ids in its path (`IdParam`), and an optional rate-limit override.
`Api.add_to` registers a wrapper that, in this order, checks the caller and the permission,
the path's text, the query string and the body (422 ``VALIDATION_ERROR`` with field details),
and parses the path's ids (a malformed id is the 404 of an unknown one) before the handler
runs, so handlers get typed values (`Call.id`); `api.openapi` turns the same declarations into
the OpenAPI document, so what is served and what is documented cannot drift apart.

Written here rather than taken from aiohttp-pydantic because every route also carries its
permission and rate limit, which that library has no place for.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.auth.principal import Principal
from api.auth.rbac import Permission
from api.schema import text_problem
from teezu.errors import (
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    TeezuError,
    Unauthorized,
    UnsupportedMediaType,
)

PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)

B = TypeVar("B")
Q = TypeVar("Q")

JSON_BODY_LIMIT = 64 * 1024

# Error statuses added to every route's documentation by what it declares (see `_statuses`).
ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the session is no longer valid",
    403: "Signed in, but not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Validation failed (meta.errors lists the fields)",
    429: "Rate limited (Retry-After says when to try again)",
    451: "Unavailable where the caller is (the creator's geo-blocks)",
}


class NotSignedIn(Unauthorized):
    code = "UNAUTHENTICATED"


class PermissionDenied(Forbidden):
    code = "FORBIDDEN"


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``window`` seconds, per account and per IP.

    With ``setting``, the number comes from that `Settings` field instead (so a deployment, or
    the test suite, can change it).
    """

    requests: int
    window: int = 60
    setting: str | None = None

    def resolve(self, settings: object) -> RateLimit:
        if self.setting is None:
            return self
        return RateLimit(int(getattr(settings, self.setting)), self.window)


@dataclass(frozen=True)
class HeaderParam:
    """A request header a handler reads (e.g. ``Idempotency-Key``), for the OpenAPI document."""

    name: str
    description: str
    required: bool = True
    pattern: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class IdParam:
    """A path parameter that names something by its id, a UUID (``format: uuid`` in the
    OpenAPI document). The router parses it before the handler runs (`Call.id`). A value
    that is no UUID names nothing, so it is answered as an unknown id would be: ``missing``
    (a 404 error of the domain) with ``message`` and, with ``meta_key``, the value in its meta.
    """

    missing: type[TeezuError]
    message: str
    meta_key: str | None = None

    def refuse(self, raw: str) -> TeezuError:
        """The error for ``raw``, a value that is no UUID (cut to 64 characters in the meta:
        an id has 36, and the envelope should not echo kilobytes of a path back)."""
        return self.missing(self.message, meta={self.meta_key: raw[:64]} if self.meta_key else None)


# A path parameter declared only as ``"uuid"``: a malformed one is a plain 404 ``NOT_FOUND``.
_ANY_ID = IdParam(NotFound, "nothing has this id", "id")


@dataclass
class Page(Generic[B]):
    """A page of a list; ``next_cursor`` (or None on the last page) goes out as ``nextCursor``."""

    items: list[B]
    next_cursor: str | None = None


@dataclass
class Call(Generic[B, Q]):
    """What a handler gets: the request, the caller, and its validated input."""

    request: web.Request
    principal: Principal
    body: B
    query: Q
    # Applied to the response the wrapper builds (cookies, headers).
    after: list[Callable[[web.StreamResponse], None]] = field(default_factory=list)
    # The path's ids (`IdParam`), parsed by the router.
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def app(self) -> web.Application:
        return self.request.app

    def path(self, name: str) -> str:
        """A path parameter as it came (for ids, `id`)."""
        return self.request.match_info[name]

    def id(self, name: str) -> uuid.UUID:
        """A path parameter the route declares an id (`IdParam`), parsed."""
        try:
            return self.ids[name]
        except KeyError:
            raise LookupError(f"the route declares no id named {name!r}") from None

    @property
    def ip(self) -> str:
        return client_ip(self.request)


Handler = Callable[[Call[Any, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...]
    status: int
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    paginated: bool
    errors: tuple[int, ...]
    auth: bool
    permission: Permission | None
    rate_limit: RateLimit | None
    # A raw (non-JSON) body: its accepted media types and size limit (avatar uploads).
    raw_body: tuple[str, ...] = ()
    max_body: int = JSON_BODY_LIMIT
    # A non-JSON success response (server-sent events, images): its media type.
    produces: str | None = None
    # A path parameter's format: an `IdParam` (a UUID the router parses), or a plain OpenAPI
    # format; ``"uuid"`` is parsed too, its malformed values a plain 404 ``NOT_FOUND``.
    path_formats: dict[str, str | IdParam] = field(default_factory=dict)
    # Request headers the route reads itself (documented as header parameters).
    headers: tuple[HeaderParam, ...] = ()
    # Other media types the success response may take (e.g. text/csv on ?format=csv next to
    # the JSON one; the other image and video types a post's media is stored as).
    also_produces: tuple[str, ...] = ()
    # The route acts on another account (moderation, administration): the name of the action
    # the rank rule (api.auth.ranks) is checked for, documented as ``x-ranked-action``.
    ranked: str | None = None

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)", self.path)

    def path_format(self, name: str) -> str | None:
        """The OpenAPI format of a path parameter, if it has one."""
        declared = self.path_formats.get(name)
        return "uuid" if isinstance(declared, IdParam) else declared

    def id_params(self) -> dict[str, IdParam]:
        """The path's ids, in path order: what the router parses."""
        out: dict[str, IdParam] = {}
        for name in self.path_params:
            declared = self.path_formats.get(name)
            if isinstance(declared, IdParam):
                out[name] = declared
            elif declared == "uuid":
                out[name] = _ANY_ID
        return out

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def statuses(self) -> list[int]:
        """Every error status this route can answer (the OpenAPI document lists exactly these)."""
        out = set(self.errors) | {429}
        if self.auth or self.permission is not None:
            out.add(401)
        if self.permission is not None:
            out.add(403)
        if self.path_params:
            out |= {404, 422}  # 422: a path value no text may hold (NUL, lone surrogate)
        if self.body is not None or self.raw_body:
            out |= {413, 415, 422}
        if self.query is not None:
            out.add(422)
        if any(h.required for h in self.headers):
            out.add(400)  # a required header missing or malformed (IDEMPOTENCY_KEY_REQUIRED)
        return sorted(out)


class Api:
    """A set of declared routes (one per domain module), added to an app with `add_to`."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def route(
        self,
        method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"],
        path: str,
        *,
        summary: str,
        status: int = 200,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        paginated: bool = False,
        errors: tuple[int, ...] = (),
        auth: bool = False,
        permission: Permission | None = None,
        rate_limit: RateLimit | None = None,
        raw_body: tuple[str, ...] = (),
        max_body: int = JSON_BODY_LIMIT,
        produces: str | None = None,
        path_formats: Mapping[str, str | IdParam] | None = None,
        headers: tuple[HeaderParam, ...] = (),
        also_produces: tuple[str, ...] = (),
        ranked: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tags=(self.tag,),
                    status=status,
                    body=body,
                    query=query,
                    response=response,
                    paginated=paginated,
                    errors=errors,
                    auth=auth,
                    permission=permission,
                    rate_limit=rate_limit,
                    raw_body=raw_body,
                    max_body=max_body,
                    produces=produces,
                    path_formats=dict(path_formats or {}),
                    headers=headers,
                    also_produces=also_produces,
                    ranked=ranked,
                )
            )
            return handler

        return register

    def add_to(self, app: web.Application) -> None:
        if ROUTES not in app:
            app[ROUTES] = []
        for route in self.routes:
            app.router.add_route(route.method, route.path, _wrap(route))
        app[ROUTES].extend(self.routes)


ROUTES: web.AppKey[list[Route]] = web.AppKey("routes", list)


def route_of(request: web.Request) -> Route | None:
    """The declared route a request matched (None for pages, media and unknown paths)."""
    return getattr(request.match_info.handler, "route", None)


def client_ip(request: web.Request) -> str:
    # No proxy headers are trusted: behind a proxy, configure it to connect per client or
    # terminate here. (Trusting X-Forwarded-For blindly would let anyone dodge IP limits.)
    return request.remote or "unknown"


def field_errors(exc: ValidationError, where: str) -> list[dict[str, str]]:
    return [
        {"field": ".".join([where, *map(str, e["loc"])]), "message": e["msg"]} for e in exc.errors()
    ]


def validate(model: type[BaseModel], data: object, where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(f"invalid {where}", meta={"errors": field_errors(exc, where)}) from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (checked while reading)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"request body over {limit} bytes", meta={"limit": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body over {limit} bytes", meta={"limit": limit})
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: web.Request, route: Route) -> Any:
    raw = await read_body(request, route.max_body)
    if not raw.strip():
        data: Any = {}
    else:
        ctype = request.content_type
        if ctype not in ("application/json", "application/octet-stream") and request.headers.get(
            "Content-Type"
        ):
            raise UnsupportedMediaType(
                "send the body as application/json", meta={"contentType": ctype}
            )
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Invalid(
                "request body is not valid JSON",
                meta={"errors": [{"field": "body", "message": "invalid JSON"}]},
            ) from None
    assert route.body is not None
    return validate(route.body, data, "body")


def _check_path(request: web.Request) -> None:
    """Path parameters obey the text rule of every input (`api.schema`): a NUL or a lone
    surrogate is 422 here, before any handler looks the value up."""
    errors = [
        {"field": f"path.{name}", "message": problem}
        for name, value in request.match_info.items()
        if (problem := text_problem(value)) is not None
    ]
    if errors:
        raise Invalid("invalid path", meta={"errors": errors})


def _parse_ids(request: web.Request, route: Route) -> dict[str, uuid.UUID]:
    """The path's ids as UUIDs; a malformed one is refused as its route says (`IdParam`)."""
    ids: dict[str, uuid.UUID] = {}
    for name, param in route.id_params().items():
        raw = request.match_info[name]
        try:
            ids[name] = uuid.UUID(raw)
        except ValueError:
            raise param.refuse(raw) from None
    return ids


def _data(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list):
        return [_data(v) for v in value]
    return value


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        principal = request[PRINCIPAL]
        if (route.auth or route.permission is not None) and not principal.authenticated:
            raise NotSignedIn("sign in first")
        if route.permission is not None and not principal.can(route.permission):
            raise PermissionDenied(
                "your role does not allow this", meta={"permission": str(route.permission)}
            )
        _check_path(request)
        query = validate(route.query, dict(request.query), "query") if route.query else None
        if route.body is not None:
            body: Any = await _json_body(request, route)
        elif route.raw_body:
            if request.content_type not in route.raw_body:
                raise UnsupportedMediaType(
                    f"send one of {', '.join(route.raw_body)}",
                    meta={"contentType": request.content_type, "accepted": list(route.raw_body)},
                )
            body = await read_body(request, route.max_body)
        else:
            body = None
        call: Call[Any, Any] = Call(request, principal, body, query, ids=_parse_ids(request, route))
        result = await route.handler(call)
        if isinstance(result, web.StreamResponse):
            response = result
        elif result is None:
            response = web.Response(status=204)
        elif isinstance(result, Page):
            response = web.json_response(
                {"status": "ok", "data": _data(result.items), "nextCursor": result.next_cursor},
                status=route.status,
            )
        else:
            response = web.json_response(
                {"status": "ok", "data": _data(result)}, status=route.status
            )
        if route.produces is None:
            response.headers.setdefault("Cache-Control", "no-store")
        for apply in call.after:
            apply(response)
        return response

    handler.route = route  # type: ignore[attr-defined]  # read back by route_of()
    handler.__name__ = route.handler.__name__
    return handler
