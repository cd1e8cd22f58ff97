"""The session resource of WHIP and WHEP (RFC 9725 §4.2-4.3): who may DELETE or PATCH it, and
the PATCH itself (trickle ICE and ICE restarts).

A session remembers a hash of the bearer token its POST carried; DELETE and PATCH must present
the same token (``Authorization: Bearer``, or ``?token=`` where the POST could use it: WHEP),
else ``401 INVALID_SESSION_TOKEN``. A WHEP session made without a token (an open stream) needs
none; like every session it lives at an unguessable URL (128 random bits).

PATCH checks, in this order, each answered with the JSON envelope: unknown session 404, token
401, content type 415 (``application/trickle-ice-sdpfrag``), If-Match missing 428 / naming
another ICE session 412 (RFC 9110 §13.2: preconditions after the checks that need no body),
body too large 413, malformed fragment 400; a restart the session cannot take now 409. Then
trickle answers ``204`` (no body, no ETag), a restart ``200`` with our fragment and the new
ETag.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from ingest.errors import (
    InvalidIceFragment,
    InvalidSessionToken,
    PreconditionFailed,
    PreconditionRequired,
)
from ingest.ice import IceSession
from ingest.sdpfrag import MEDIA_TYPE, parse_sdpfrag
from ingest.tokens import bearer_token, hash_token
from teezu.errors import PayloadTooLarge, UnsupportedMediaType


def request_token(request: web.Request, *, allow_query: bool = False) -> str | None:
    """The bearer token of a request (``?token=`` too when ``allow_query``)."""
    token = bearer_token(request.headers.get("Authorization"))
    if token is None and allow_query:
        token = request.query.get("token") or None
    return token


def token_hash(token: str | None) -> bytes | None:
    return None if token is None else hash_token(token)


def check_session_token(
    request: web.Request, expected: bytes | None, *, allow_query: bool = False
) -> None:
    """401 unless the request carries the token the session was created with."""
    if expected is None:
        return
    token = request_token(request, allow_query=allow_query)
    if token is None or not hmac.compare_digest(hash_token(token), expected):
        raise InvalidSessionToken(
            "this session needs the bearer token it was created with (Authorization: Bearer ...)"
        )


def _check_if_match(request: web.Request, etag: str) -> None:
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired(
            'PATCH needs If-Match: the ETag of the ICE session, or "*" for an ICE restart',
            meta={"etag": etag},
        )
    tags = [t.strip() for t in header.split(",")]
    if "*" in tags or etag in tags:  # strong comparison: weak tags (W/"...") never match
        return
    raise PreconditionFailed(
        "If-Match names another ICE session (restarted since?)",
        meta={"received": header[:200], "etag": etag},
    )


async def patch_ice(request: web.Request, ice: IceSession, limit: int) -> web.Response:
    """Apply a trickle-ice-sdpfrag PATCH to ``ice`` (after the session and token checks)."""
    if request.content_type != MEDIA_TYPE:
        raise UnsupportedMediaType(
            f"a PATCH carries Content-Type: {MEDIA_TYPE}",
            meta={"received": request.content_type},
        )
    _check_if_match(request, ice.etag)
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge("SDP fragment too large", meta={"limit": limit})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidIceFragment("SDP fragment is not UTF-8 text") from None
    fragment = parse_sdpfrag(text)
    if ice.is_restart(fragment):
        answer = await ice.restart(fragment)
        return web.Response(
            status=200,
            text=answer,
            content_type=MEDIA_TYPE,
            headers={"ETag": ice.etag, "Cache-Control": "no-store"},
        )
    await ice.trickle(fragment)
    return web.Response(status=204)
