"""The root error of the platform. Each subclass names one caller-visible case.

`api.envelope` turns any `TeezuError` into the JSON error envelope; packages subclass the
generic kinds below with their own stable ``code``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TeezuError(Exception):
    """Base of every error the platform reports to a caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(
        self, message: str, *, meta: dict[str, Any] | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.meta = meta or {}
        self.retry_after = retry_after
        self.headers: dict[str, str] = {}  # extra response headers (e.g. rate-limit state)


class BadRequest(TeezuError, ValueError):
    status = 400
    code = "VALIDATION_ERROR"


class Invalid(TeezuError, ValueError):
    """Well-formed request whose content fails validation (pydantic models, business rules)."""

    status = 422
    code = "VALIDATION_ERROR"


class Unauthorized(TeezuError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(TeezuError):
    status = 403
    code = "FORBIDDEN"


class NotFound(TeezuError, LookupError):
    status = 404
    code = "NOT_FOUND"


class Conflict(TeezuError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(TeezuError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(TeezuError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequests(TeezuError):
    status = 429
    code = "RATE_LIMITED"


class Unavailable(TeezuError):
    status = 503
    code = "UNAVAILABLE"


def error_body(
    status_code: str,
    message: str,
    request_id: str,
    *,
    meta: dict[str, Any] | None = None,
    retry_after: int | None = None,
) -> dict[str, Any]:
    """The envelope every error response carries (``api.envelope`` and the LL-HLS edge)."""
    body: dict[str, Any] = {
        "status": "error",
        "code": status_code,
        "message": message,
        "requestId": request_id,
        "meta": meta or {},
    }
    if retry_after is not None:
        body["retryAfter"] = retry_after
    return body
