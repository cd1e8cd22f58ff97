"""The one place errors become the JSON envelope, plus the request id every response carries.

``{"status":"error","code":"…","message":"…","requestId":"…","retryAfter":…,"meta":{…}}``
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from api.error_groups import ERROR_GROUPS
from teezu.errors import TeezuError, error_body
from teezu.request_id import request_id as new_request_id

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# aiohttp's own HTTP errors (unknown route, wrong method, body too large) get stable codes too.
_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
# Headers of an aiohttp HTTP error that survive into the envelope response.
_KEPT_HEADERS = (
    "Allow",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Vary",
)
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    meta: dict[str, Any] | None = None,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    h = {"X-Request-Id": request_id, "Cache-Control": "no-store", **(headers or {})}
    if retry_after is not None:
        h["Retry-After"] = str(retry_after)
    return web.json_response(
        error_body(code, message, request_id, meta=meta, retry_after=retry_after),
        status=status,
        headers=h,
    )


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # A caller's own id is kept (to follow a request across services) only if token-like.
    request_id = new_request_id(request.headers.get("X-Request-Id"))
    request[REQUEST_ID] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    except TeezuError as exc:
        return error_response(
            exc.status,
            exc.code,
            exc.message,
            request_id,
            meta=exc.meta,
            retry_after=exc.retry_after,
            headers=exc.headers,
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in _KEPT_HEADERS}
        return error_response(
            exc.status,
            _HTTP_CODES.get(exc.status, f"HTTP_{exc.status}"),
            exc.reason,
            request_id,
            headers=headers,
        )
    except Exception as exc:
        log.exception("unhandled error", extra={"path": request.path})
        groups = request.app.get(ERROR_GROUPS)
        if groups is not None:
            groups.record(exc, request_id)
        return error_response(500, "INTERNAL_ERROR", "internal error", request_id)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    response.headers.setdefault("X-Request-Id", request_id)
    return response
