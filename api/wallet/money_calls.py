"""What every route that moves money shares: the ``Idempotency-Key`` header, the caller's key,
and the response for a stored outcome (a pure function of it, so a replay is identical)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.envelope import REQUEST_ID, error_response
from api.routing import Call, HeaderParam
from api.wallet.errors import MESSAGES, IdempotencyKeyRequired, error_for
from api.wallet.model import IdempotencyKey, Outcome

IDEMPOTENCY_KEY = HeaderParam(
    "Idempotency-Key",
    "a unique key per intended payment (a UUID): a retry with the same key and request gets "
    "the first result again and moves nothing; the same key with another request is refused "
    "(422 IDEMPOTENCY_KEY_REUSED)",
    pattern=r"^[\x21-\x7e]{1,255}$",
    max_length=255,
)


def idempotency_key(call: Call[Any, Any]) -> IdempotencyKey:
    """The caller's ``Idempotency-Key`` (every route that moves money requires one)."""
    raw = call.request.headers.get(IDEMPOTENCY_KEY.name, "")
    if not raw or len(raw) > 255 or not raw.isascii() or not raw.isprintable() or " " in raw:
        raise IdempotencyKeyRequired(
            "send an Idempotency-Key header (1-255 printable ASCII characters, no spaces) "
            "with every call that moves money"
        )
    assert call.principal.user_id is not None
    return IdempotencyKey(call.principal.user_id, raw)


def respond(request: web.Request, outcome: Outcome, status: int) -> web.Response:
    """The response for a stored outcome: a pure function of it, so replays are identical."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if outcome.error is not None:
        return error_response(
            error_for(outcome.error).status,
            outcome.error,
            MESSAGES[outcome.error],
            outcome.request_id or request[REQUEST_ID],
            meta=outcome.data,
            headers=headers,
        )
    return web.json_response({"status": "ok", "data": outcome.data}, status=status, headers=headers)
