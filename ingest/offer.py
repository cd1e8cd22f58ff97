"""Reading a WebRTC-over-HTTP request (WHIP and WHEP share it): the stream id and the SDP body."""

from __future__ import annotations

import uuid

from aiohttp import web

from ingest.errors import InvalidSdp, StreamNotFound
from teezu.errors import PayloadTooLarge, UnsupportedMediaType


def stream_uuid(raw: str) -> uuid.UUID:
    """The stream id of a URL; anything that is not a UUID is simply an unknown stream."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise StreamNotFound("no such stream", meta={"streamId": raw}) from None


async def read_sdp_offer(request: web.Request, limit: int, protocol: str) -> str:
    """The request's SDP offer: 415 unless application/sdp, 413 past ``limit``, 400 if not text.

    The body is read at most ``limit + 1`` bytes far, whatever Content-Length claims.
    """
    if request.content_type != "application/sdp":
        raise UnsupportedMediaType(
            f"a {protocol} offer must be sent as Content-Type: application/sdp",
            meta={"received": request.content_type},
        )
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge("SDP offer too large", meta={"limit": limit})
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge("SDP offer too large", meta={"limit": limit})
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSdp("SDP offer is not UTF-8 text") from None
