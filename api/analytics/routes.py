"""``/api/v1/streams/{id}/viewing-sessions`` and ``/beacons``: viewing facts from players.

Players of public streams open a viewing session here (others get one with their playback
token, `api.streams.routes.create_playback_token`) and send a beacon every `BEACON_INTERVAL`
seconds with what they played and how it went (latency behind live, stalls, bitrate switches,
startup time). See `api.analytics.viewing` for how far a beacon is believed.
"""

from __future__ import annotations

import uuid

from pydantic import Field

from api.agegate.gate import AGE_GATE
from api.analytics import viewing
from api.keys import POOL
from api.routing import Api, Call, RateLimit
from api.schema import Input, Output
from api.streams.errors import STREAM_ID
from api.streams.ownership import existing_stream
from hls.access import PlaybackDenied
from hls.gate import split_place
from teezu.errors import Conflict, NotFound, TooManyRequests

api = Api("analytics")
UUID_PATH = {"stream_id": STREAM_ID}


class ViewingSessionNotFound(NotFound):
    code = "VIEWING_SESSION_NOT_FOUND"


class ViewingSessionEnded(Conflict):
    code = "VIEWING_SESSION_ENDED"


class StreamOffline(Conflict):
    code = "STREAM_OFFLINE"


class BeaconTooSoon(TooManyRequests):
    code = "RATE_LIMITED"


class ViewingSession(Output):
    viewing_session_id: uuid.UUID
    beacon_interval: float = Field(description="seconds between beacons the player should keep")


class Beacon(Input):
    viewing_session_id: uuid.UUID
    played_seconds: float = Field(
        ge=0, le=600, description="seconds of media played since the previous beacon"
    )
    latency_seconds: float | None = Field(default=None, ge=0, le=600)
    stalls: int = Field(default=0, ge=0, le=100)
    stall_seconds: float = Field(default=0, ge=0, le=600)
    bitrate_switches: int = Field(default=0, ge=0, le=100)
    startup_ms: float | None = Field(default=None, ge=0, le=120_000)
    final: bool = Field(default=False, description="the player stopped: the session ends")


class BeaconAck(Output):
    watch_seconds: float


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/viewing-sessions",
    summary="Open a viewing session for a public live stream (players of other streams get one "
    "with their playback token)",
    status=201,
    response=ViewingSession,
    errors=(403, 409),
    rate_limit=RateLimit(30),
    path_formats=UUID_PATH,
)
async def create_viewing_session(call: Call[None, None]) -> ViewingSession:
    """403 `PLAYBACK_DENIED` for a stream that is not public (ask for a playback token);
    409 `STREAM_OFFLINE` when it is not live."""
    row = await existing_stream(call)
    if row.visibility != "public":
        raise PlaybackDenied(
            "this stream needs a playback token", meta={"visibility": row.visibility}
        )
    if row.state != "live":
        raise StreamOffline("this stream is not live", meta={"streamId": str(row.id)})
    country, _ = split_place(call.app[AGE_GATE].place(call.request))
    session = await viewing.open_session(
        call.app[POOL],
        row.id,
        kind="llhls",
        viewer_id=call.principal.user_id,
        anonymous_id=None,
        country=country,
    )
    return ViewingSession(viewing_session_id=session, beacon_interval=viewing.BEACON_INTERVAL)


@api.route(
    "POST",
    "/api/v1/streams/{stream_id}/beacons",
    summary="A player's beacon: seconds played and quality of experience",
    body=Beacon,
    response=BeaconAck,
    errors=(404, 409, 429),
    rate_limit=RateLimit(120),
    path_formats=UUID_PATH,
)
async def send_beacon(call: Call[Beacon, None]) -> BeaconAck:
    """404 `VIEWING_SESSION_NOT_FOUND` for a session that is not this stream's; 409
    `VIEWING_SESSION_ENDED` after a final beacon or a long silence; 429 `RATE_LIMITED` for
    beacons closer together than 2 s (a final one excepted). The seconds credited never exceed
    the time since the session's previous beacon plus one second."""
    b = call.body
    stream_id = call.id("stream_id")
    result = await viewing.beacon(
        call.app[POOL],
        b.viewing_session_id,
        stream_id,
        played=b.played_seconds,
        qoe=viewing.Qoe(
            latency=b.latency_seconds,
            stalls=b.stalls,
            stall_seconds=b.stall_seconds,
            bitrate_switches=b.bitrate_switches,
            startup_ms=b.startup_ms,
        ),
        final=b.final,
    )
    if result.outcome == "unknown":
        raise ViewingSessionNotFound(
            "no such viewing session on this stream", meta={"streamId": str(stream_id)}
        )
    if result.outcome == "ended":
        raise ViewingSessionEnded("this viewing session has ended; open a new one")
    if result.outcome == "too_soon":
        raise BeaconTooSoon(
            "beacons come at most every 2 seconds", retry_after=max(1, round(result.retry_after))
        )
    return BeaconAck(watch_seconds=result.watch_seconds)
