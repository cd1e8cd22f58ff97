"""WHEP playback: ``POST /whep/{stream_id}`` and the viewer session resource.

A viewer gets the packets the stream's ladder already produced (one rendition's H.264) and the
stream's one Opus encode, through the stream's :class:`~engine.fanout.PacketFanout`; adding a
viewer costs packetization and encryption, never an encode.

``POST /whep/{stream_id}[?rendition=480p]`` with ``Content-Type: application/sdp`` returns
``201``, a ``Location: /whep/{stream_id}/sessions/{id}`` and the answer; ``DELETE`` on it ends
the viewer and ``PATCH`` carries trickle ICE / ICE restarts, both with the POST's token if it had
one (``ingest/resource.py``, shared with WHIP).

Errors use the envelope, checked cheapest first, before any peer connection exists: 404
``STREAM_NOT_FOUND``, the playback-access hook, 415, 413, 400 ``INVALID_SDP`` / ``SDP_NO_VIDEO``
/ ``NO_COMMON_CODEC`` / ``UNKNOWN_RENDITION``, then **409** ``STREAM_OFFLINE`` for a stream that
exists but is not live on this node (409 rather than 404: the resource exists, its state forbids
the request; the envelope carries ``meta.state``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from api.streams import store
from engine.fanout import PacketFanout
from hls.access import PlaybackGrant
from ingest.errors import (
    SessionNotFound,
    StreamNotFound,
    StreamOffline,
    UnknownRendition,
)
from ingest.offer import read_sdp_offer, stream_uuid
from ingest.resource import check_session_token, patch_ice, request_token, token_hash
from ingest.sdp import check_viewer_offer
from ingest.tokens import bearer_token
from live.broadcasts import BROADCASTS
from live.viewer import WhepViewer
from live.whep_guard import WHEP_GUARD

log = logging.getLogger(__name__)

# How long a POST waits for a just-started broadcast's first encoded media.
START_WAIT = 5.0


@dataclass
class Viewers:
    """The WHEP viewers of this node, by stream id then viewer id."""

    by_stream: dict[str, dict[str, WhepViewer]] = field(default_factory=dict)
    # Called once a viewer's answer is sent (with its grant, None on an open stream, and its
    # place) and once it stopped: the viewing facts (`api.analytics.facts`). Never raise.
    started_hooks: list[Callable[[WhepViewer, PlaybackGrant | None, str], Awaitable[None]]] = field(
        default_factory=list
    )
    stopped_hooks: list[Callable[[WhepViewer], Awaitable[None]]] = field(default_factory=list)

    def add(self, viewer: WhepViewer) -> None:
        self.by_stream.setdefault(viewer.stream_id, {})[viewer.id] = viewer

    def get(self, stream_id: str, viewer_id: str) -> WhepViewer | None:
        return self.by_stream.get(stream_id, {}).get(viewer_id)

    def count(self, stream_id: str | None = None) -> int:
        if stream_id is not None:
            return len(self.by_stream.get(stream_id, {}))
        return sum(len(v) for v in self.by_stream.values())

    async def on_stopped(self, viewer: WhepViewer, reason: str) -> None:
        """Every viewer's last step, whatever ended it: leave the registry."""
        viewers = self.by_stream.get(viewer.stream_id, {})
        if viewers.get(viewer.id) is viewer:
            del viewers[viewer.id]
            if not viewers:
                del self.by_stream[viewer.stream_id]
        for hook in self.stopped_hooks:
            try:
                await hook(viewer)
            except Exception:
                log.exception("WHEP stopped hook failed", extra={"stream_id": viewer.stream_id})

    async def stop_stream(self, stream_id: str, reason: str = "broadcast ended") -> None:
        """Stop every viewer of a stream (its broadcast ended). Never raises."""
        viewers = list(self.by_stream.get(stream_id, {}).values())
        await asyncio.gather(*(v.stop(reason) for v in viewers), return_exceptions=True)

    async def close(self) -> None:
        """Server shutdown: stop every viewer."""
        await asyncio.gather(
            *(self.stop_stream(s, "server shutdown") for s in list(self.by_stream)),
            return_exceptions=True,
        )


VIEWERS: web.AppKey[Viewers] = web.AppKey("whep_viewers", Viewers)


async def _check_playback_access(
    request: web.Request, stream_id: str
) -> tuple[PlaybackGrant | None, str]:
    """The same rule as the HLS origin: open streams for anyone, others with a valid token
    that no later change voided and whose age-gate and jurisdiction claims meet the stream's
    rules (``hls.gate``). Returns the token's grant (None on an open stream) and the viewer's
    place, which `live.whep_guard` holds the session to while it lasts.

    The signed playback token comes as ``Authorization: Bearer <token>`` or ``?token=``; a
    refusal is a 403 envelope (``hls.access.PlaybackDenied`` subclasses,
    ``AGE_VERIFICATION_REQUIRED``) or 451 ``GEO_BLOCKED``. Runs after the stream is known to
    exist and before the body is read.
    """
    from hls.origin import POLICY_KEY, VIEWER_PLACE_HEADER

    policy = request.app[POLICY_KEY]
    place = policy.locate(request.remote, request.headers.get(VIEWER_PLACE_HEADER))
    access = await policy.access(stream_id)
    if access is None:
        return None, place
    token = bearer_token(request.headers.get("Authorization")) or request.query.get("token")
    return policy.decide_grant(stream_id, access, token, lambda: place), place


async def _live_fanout(request: web.Request, key: str, state: str) -> PacketFanout:
    """The fanout of a broadcast live on this node with its first media encoded."""
    broadcast = request.app[BROADCASTS].get(key)
    fanout = broadcast.fanout if broadcast is not None and broadcast.serving else None
    if fanout is None or fanout.ended:
        raise StreamOffline("this stream is not live", meta={"streamId": key, "state": state})
    if await fanout.wait_started(START_WAIT) is None:
        raise StreamOffline(
            "this stream has no media yet", meta={"streamId": key, "state": state}, retry_after=1
        )
    return fanout


async def create_viewer(request: web.Request) -> web.Response:
    broadcasts = request.app[BROADCASTS]
    viewers = request.app[VIEWERS]
    settings = broadcasts.settings
    stream_id = stream_uuid(request.match_info["stream_id"])
    key = str(stream_id)
    stream = await store.get_stream(broadcasts.pool, stream_id)
    if stream is None:
        raise StreamNotFound("no such stream", meta={"streamId": key})
    grant, place = await _check_playback_access(request, key)
    offer = await read_sdp_offer(request, settings.whip_max_body_bytes, "WHEP")
    summary = check_viewer_offer(offer)
    ladder = [r.name for r in sorted(settings.renditions, key=lambda r: r.height, reverse=True)]
    wanted = request.query.get("rendition")
    if wanted is not None and wanted not in ladder:
        raise UnknownRendition("no such rendition", meta={"rendition": wanted, "known": ladder})
    fanout = await _live_fanout(request, key, stream.state)
    rendition = wanted or fanout.renditions[0]
    if rendition not in fanout.renditions:
        # Configured, but skipped for this broadcast (no upscaled copies of a smaller source).
        raise UnknownRendition(
            "this broadcast has no such rendition",
            meta={"rendition": rendition, "known": fanout.renditions},
        )

    viewer = WhepViewer(
        key,
        fanout,
        rendition,
        ice_servers=settings.ice_servers,
        on_stopped=viewers.on_stopped,
        token_hash=token_hash(request_token(request, allow_query=True)),
    )
    viewers.add(viewer)
    guard = request.app.get(WHEP_GUARD)
    if guard is not None:
        guard.watch(viewer, grant, place)
    try:
        answer = await viewer.negotiate(offer, has_audio=summary.has_audio)
        if fanout.ended:  # the broadcast ended while we negotiated
            raise StreamOffline("this stream is not live", meta={"streamId": key})
    except BaseException:
        with contextlib.suppress(Exception):
            await viewer.stop("negotiation failed")
        raise
    for hook in viewers.started_hooks:
        try:
            await hook(viewer, grant, place)
        except Exception:
            log.exception("WHEP started hook failed", extra={"stream_id": key})
    log.info(
        "viewer started",
        extra={"stream_id": key, "viewer": viewer.id, "rendition": rendition},
    )
    return web.Response(
        status=201,
        text=answer,
        content_type="application/sdp",
        headers={
            "Location": f"/whep/{key}/sessions/{viewer.id}",
            "ETag": viewer.ice.etag,
            "Cache-Control": "no-store",
        },
    )


def _viewer(request: web.Request) -> WhepViewer:
    """The viewer a DELETE/PATCH names: 404 if unknown, 401 without the POST's token (if any)."""
    stream_id = str(stream_uuid(request.match_info["stream_id"]))
    viewer = request.app[VIEWERS].get(stream_id, request.match_info["session_id"])
    if viewer is None:
        raise SessionNotFound("no such WHEP session (already ended?)")
    check_session_token(request, viewer.token_hash, allow_query=True)
    return viewer


async def delete_viewer(request: web.Request) -> web.Response:
    await _viewer(request).stop("viewer sent DELETE")
    return web.Response(status=200)


async def patch_viewer(request: web.Request) -> web.Response:
    """Trickle ICE candidates or an ICE restart, as for WHIP (``ingest/resource.py``)."""
    viewer = _viewer(request)
    limit = request.app[BROADCASTS].settings.whip_max_body_bytes
    return await patch_ice(request, viewer.ice, limit)


def add_routes(app: web.Application) -> None:
    """Register the WHEP endpoints; ``app[VIEWERS]`` is set by the app's lifecycle."""
    app.router.add_post("/whep/{stream_id}", create_viewer)
    app.router.add_delete("/whep/{stream_id}/sessions/{session_id}", delete_viewer)
    app.router.add_patch("/whep/{stream_id}/sessions/{session_id}", patch_viewer)
