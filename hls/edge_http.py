"""HTTP/1.1 framing for the LL-HLS edge: response bytes, error envelopes, query strings. Pure.

Request *parsing* is httptools' (llhttp, the parser uvicorn and Node use); this module only
turns the edge's answers into bytes. Responses are built whole (status line, headers, body) so
that one ``bytes`` object can be written to thousands of held connections as it is.
"""

from __future__ import annotations

import json
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote_plus

from teezu.errors import TeezuError, error_body
from teezu.request_id import request_id as new_request_id

MAX_URL = 8190  # as aiohttp's max_line_size: a longer request target is a 414
MAX_HEADERS = 16 * 1024  # all header lines together; more is a 431
MAX_BODY = 64 * 1024  # GET/HEAD bodies are read and discarded, up to this
ALLOWED = "GET, HEAD, OPTIONS"

# Codes for the refusals aiohttp's own handlers would give (api.envelope's table) and the
# edge's framing errors.
_HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    431: "HEADERS_TOO_LARGE",
}


class HttpError(Exception):
    """A protocol-level refusal (malformed request, wrong method, sizes): answered, then closed
    unless the request itself was well framed."""

    def __init__(
        self, status: int, message: str, *, close: bool = True, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _HTTP_CODES.get(status, f"HTTP_{status}")
        self.message = message
        self.close = close


class HttpDate:
    """The ``Date`` header value, formatted once per second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def at(self, now: float) -> tuple[int, bytes]:
        """(the whole second, its formatted date) for the wall-clock time ``now``."""
        second = int(now)
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True).encode()
        return second, self._value


def _status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"HTTP/1.1 {status} {reason}\r\n".encode()


_STATUS_LINES = {s.value: _status_line(s.value) for s in HTTPStatus}


def response(
    status: int,
    headers: dict[str, str],
    body: bytes,
    date: bytes,
    *,
    close: bool = False,
) -> tuple[bytes, int]:
    """A whole response and the length of its head (what a HEAD request gets)."""
    lines = [_STATUS_LINES.get(status) or _status_line(status), b"Date: ", date, b"\r\n"]
    for name, value in headers.items():
        lines += (name.encode(), b": ", value.encode("latin-1"), b"\r\n")
    lines += (b"Content-Length: ", str(len(body)).encode(), b"\r\n")
    if close:
        lines.append(b"Connection: close\r\n")
    lines.append(b"\r\n")
    head = b"".join(lines)
    return head + body, len(head)


def request_id(given: str | None) -> str:
    """The caller's own X-Request-Id if token-like, else a new one (`teezu.request_id`)."""
    return new_request_id(given)


def error_response(
    exc: TeezuError | HttpError, rid: str, date: bytes, *, close: bool = False
) -> tuple[bytes, int]:
    """The JSON error envelope of ``exc``: the status, code and body the app would send."""
    meta = exc.meta if isinstance(exc, TeezuError) else None
    retry_after = exc.retry_after if isinstance(exc, TeezuError) else None
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Request-Id": rid,
        "Cache-Control": "no-store",
        # Players on another origin must be able to read why (the objects themselves carry *).
        "Access-Control-Allow-Origin": "*",
    }
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if exc.status == 405:
        headers["Allow"] = ALLOWED
    body = json.dumps(
        error_body(exc.code, exc.message, rid, meta=meta, retry_after=retry_after)
    ).encode()
    return response(exc.status, headers, body, date, close=close)


def parse_query(raw: str) -> dict[str, str]:
    """``a=1&b=2`` as a dict; the first of repeated keys wins (as aiohttp's ``query.get``)."""
    out: dict[str, str] = {}
    if not raw:
        return out
    for pair in raw.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:
            key, value = unquote_plus(key), unquote_plus(value)
        out.setdefault(key, value)
    return out
