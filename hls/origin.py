"""The HLS origin: ``GET /hls/{stream_id}/...``.

Live media playlists, parts and just-finished segments come from the broadcast's in-memory
state (blocking reload per RFC 8216bis 6.2.5.2); everything else comes from storage. Playlists
are never cached; segments, parts and init objects live under a per-broadcast run folder and
are cached as immutable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from hls.access import (
    PlaybackGrant,
    TokenRequired,
    TokenRevoked,
    tokenize_playlist,
    verify_playback_token,
)
from hls.errors import MediaNotFound
from hls.gate import EXEMPT, GeoBlocked, StreamAccess, check_viewer, is_blocked, split_place
from hls.live import PLAYLIST
from hls.output import SEGMENT_CACHE, HlsOutput
from hls.request import (
    StreamLevel,
    check_stream_id,
    hold_limit,
    not_ready_error,
    object_headers,
    parse_object_path,
    parse_playlist_query,
    too_far_ahead_error,
)
from teezu.metrics import METRICS
from teezu.storage import STORAGE

Locate = Callable[[str | None, str | None], str]
"""(peer address, ``X-Viewer-Country`` header or None) -> the viewer's place ("" unknown)."""

VIEWER_PLACE_HEADER = "X-Viewer-Country"


def _nowhere(peer: str | None, header: str | None) -> str:
    return ""


def as_access(found: StreamAccess | str | None) -> StreamAccess | None:
    """A lookup's result as :class:`StreamAccess` (a bare visibility string is accepted)."""
    if found is None or isinstance(found, StreamAccess):
        return found
    return StreamAccess(found)


@dataclass
class PlaybackPolicy:
    """Who may fetch a stream's HLS: open streams (public, not age-gated, no geo-blocks)
    anyone; others with a signed token that no later change voided and whose claims meet the
    stream's rules (:mod:`hls.gate`).

    ``access_of`` (database lookups) is cached for ``ttl`` seconds: held LL-HLS requests
    arrive several times a second per viewer and must not each cost a query, so a request
    costs an in-memory compare of the token's epoch. A change of who may watch reaches the
    cache at once through :meth:`forget` (the node's listener for the database's change
    notices, `api.streams.revocations`), and within ``ttl`` if a notice is lost. It may
    return a :class:`StreamAccess` or just the visibility. ``locate`` places a request (GeoIP,
    trusted proxy header); it is consulted only for streams with geo-blocks, and for exempt
    tokens on gated streams.
    """

    key: bytes
    access_of: Callable[[str], Awaitable[StreamAccess | str | None]]  # None: no such stream
    ttl: float = 5.0
    locate: Locate = _nowhere
    _cache: dict[str, tuple[float, asyncio.Future[StreamAccess | str | None]]] = field(
        default_factory=dict
    )
    _open_until: dict[str, float] = field(default_factory=dict)  # monotonic

    def lookup(self, stream_id: str) -> asyncio.Future[StreamAccess | str | None]:
        """The stream's access rules as a shared future: done at once while cached.

        Callers may await it (shielded) or add a done callback; they must not cancel it.
        """
        now = time.monotonic()
        hit = self._cache.get(stream_id)
        if hit is not None and hit[0] > now:
            fut = hit[1]
            if not fut.done() or (not fut.cancelled() and fut.exception() is None):
                return fut
        # Single flight: the requests that miss together (every held viewer wakes on the same
        # part, so they do) share one query instead of each sending its own.
        fut = asyncio.ensure_future(self.access_of(stream_id))
        if len(self._cache) > 10_000:
            self._cache.clear()
            self._open_until.clear()
        self._cache[stream_id] = (now + self.ttl, fut)
        fut.add_done_callback(lambda f: self._forget_failed(stream_id, f))
        return fut

    def forget(self, stream_id: str) -> None:
        """Read the stream's access again on next use (it changed)."""
        self._cache.pop(stream_id, None)
        self._open_until.pop(stream_id, None)

    def forget_all(self) -> None:
        """Read every stream's access again (change notices may have been missed)."""
        self._cache.clear()
        self._open_until.clear()

    def _forget_failed(
        self, stream_id: str, fut: asyncio.Future[StreamAccess | str | None]
    ) -> None:
        hit = self._cache.get(stream_id)
        if hit is None or hit[1] is not fut:
            return
        if fut.cancelled() or fut.exception():
            del self._cache[stream_id]  # a failed lookup is not cached
            return
        access = as_access(fut.result())
        if access is not None and access.open:
            self._open_until[stream_id] = hit[0]
        else:
            self._open_until.pop(stream_id, None)

    def public_until(self, stream_id: str) -> float:
        """Until when (monotonic) ``stream_id`` is known to be open (public, no age gate, no
        geo-block) without a lookup; 0 if not.

        For callers that answer open streams' requests without the full check (the edge's
        pre-built responses); the same cache entry as :meth:`lookup`, so no staler.
        """
        return self._open_until.get(stream_id, 0.0)

    async def access(self, stream_id: str) -> StreamAccess | None:
        fut = self.lookup(stream_id)
        # shield: one caller giving up must not cancel the lookup the others await.
        return as_access(fut.result() if fut.done() else await asyncio.shield(fut))

    async def visibility(self, stream_id: str) -> str | None:
        access = await self.access(stream_id)
        return access.visibility if access is not None else None

    def decide(
        self,
        stream_id: str,
        found: StreamAccess | str | None,
        token: str | None,
        where: Callable[[], str] | None = None,
    ) -> str | None:
        """The token to carry into playlists (None for open streams); raises if refused.

        ``where``: the requester's place, asked only when the stream has geo-blocks (a token
        issued in one place does not open a stream in a blocked one) or for an exempt token
        on a gated stream (see :meth:`admit`).
        """
        return None if self.decide_grant(stream_id, found, token, where) is None else token

    def decide_grant(
        self,
        stream_id: str,
        found: StreamAccess | str | None,
        token: str | None,
        where: Callable[[], str] | None = None,
    ) -> PlaybackGrant | None:
        """:meth:`decide`, returning the token's verified grant (None for open streams)."""
        access = as_access(found)
        if access is None:
            raise MediaNotFound("no such stream", meta={"streamId": stream_id})
        if access.open:
            return None
        if token is None and (access.adult or access.blocked) and access.visibility == "public":
            raise TokenRequired(
                "this stream needs a playback token from the API (age gate, geo-blocks)",
                meta={
                    "ageGate": access.adult,
                    "tokenFrom": f"/api/v1/streams/{stream_id}/playback-tokens",
                },
            )
        grant = verify_playback_token(self.key, token, stream_id, time.time())
        self.admit(access, grant, where)
        return grant

    @classmethod
    def readmit(
        cls,
        stream_id: str,
        found: StreamAccess | str | None,
        grant: PlaybackGrant | None,
        place: str,
    ) -> None:
        """Raise unless a viewer admitted earlier (with ``grant``, None on an open stream, from
        ``place``) may still watch: for sessions that do not ask again (WHEP). The token's
        expiry is the caller's to check."""
        access = as_access(found)
        if access is None:
            raise MediaNotFound("no such stream", meta={"streamId": stream_id})
        if access.open:
            return
        if grant is None:
            raise TokenRequired(
                "this stream now needs a playback token",
                meta={"tokenFrom": f"/api/v1/streams/{stream_id}/playback-tokens"},
            )
        cls.admit(access, grant, lambda: place)

    @staticmethod
    def admit(
        access: StreamAccess, grant: PlaybackGrant, where: Callable[[], str] | None = None
    ) -> None:
        """Raise unless ``grant`` (a verified token) still lets its viewer watch: no change
        since it was signed voided it (:meth:`StreamAccess.voids`) and its claims meet the
        stream's rules now.

        ``where``: the requester's place. An exempt token (the creator, staff) holds only in
        the place it was issued for: asked from anywhere else it counts as a token of level
        ``none`` there, so a creator's own token handed to someone else opens neither the age
        gate nor the geo-blocks for them.
        """
        if access.voids(grant.viewer_id, grant.epoch):
            raise TokenRevoked(
                "who may watch this stream changed: ask for a new playback token",
                meta={"tokenFrom": f"/api/v1/streams/{grant.stream_id}/playback-tokens"},
            )
        level, place = grant.age, grant.place
        here: str | None = None
        if level == EXEMPT and where is not None and (access.adult or access.blocked):
            here = where()
            if here != place:
                level, place = "none", here
        check_viewer(access, level=level, place=place)
        if access.blocked and where is not None and level != EXEMPT:
            here = where() if here is None else here
            if is_blocked(access.blocked, here):
                country, region = split_place(here)
                raise GeoBlocked(
                    "the creator does not make this stream available where you are",
                    meta={"country": country, "region": region or None},
                )

    async def check(self, request: web.Request, stream_id: str) -> str | None:
        """The token to carry into playlists (None for open streams); raises if refused."""
        access = await self.access(stream_id)
        return self.decide(
            stream_id,
            access,
            request.query.get("token"),
            lambda: self.locate(request.remote, request.headers.get(VIEWER_PLACE_HEADER)),
        )


# The live broadcasts' outputs by stream id: the node's broadcasts set it (`teezu/node.py`).
LIVE_KEY: web.AppKey[Mapping[str, HlsOutput]] = web.AppKey("hls_live")
POLICY_KEY: web.AppKey[PlaybackPolicy] = web.AppKey("hls_policy", PlaybackPolicy)


async def _from_storage(
    request: web.Request, key: str, name: str, token: str | None = None
) -> web.StreamResponse:
    storage = request.app[STORAGE]
    headers = object_headers(name)
    if not name.endswith((".m3u8", ".jpg")):
        cdn = storage.public_url(key)
        if cdn is not None:
            # Immutable objects are fetched from the CDN; playlists stay at the origin.
            raise web.HTTPFound(cdn, headers={"Cache-Control": SEGMENT_CACHE})
    path = storage.local_path(key)
    if path is not None and not name.endswith((".m3u8", ".jpg")):
        # sendfile from disk; playlists are read whole so they are never seen half-replaced.
        if not await asyncio.to_thread(path.is_file):
            raise MediaNotFound("no such HLS object", meta={"name": name})
        return web.FileResponse(path, headers=headers)
    data = await storage.get(key)
    if data is None:
        raise MediaNotFound("no such HLS object", meta={"name": name})
    if token is not None and name.endswith(".m3u8"):
        data = tokenize_playlist(data.decode(), token).encode()
    return web.Response(body=data, headers=headers)


async def _live_playlist(
    request: web.Request, output: HlsOutput, rendition: str, token: str | None
) -> web.Response:
    live = output.live
    assert live is not None
    q = parse_playlist_query(request.query)
    if q.msn is not None:
        if live.too_far_ahead(rendition, q.msn):
            raise too_far_ahead_error(live.renditions[rendition].last_segment)
        if not await live.wait_for(rendition, q.msn, q.part, hold_limit(output.segment_duration)):
            raise not_ready_error()
    text = live.playlist(rendition, skip=q.skip)
    if token is not None:
        text = tokenize_playlist(text, token)
    return web.Response(text=text, headers=object_headers(PLAYLIST))


async def serve(request: web.Request) -> web.StreamResponse:
    stream_id = request.match_info["stream_id"]
    path = request.match_info["path"]
    check_stream_id(stream_id)
    token = await request.app[POLICY_KEY].check(request, stream_id)
    target = parse_object_path(stream_id, path)
    if isinstance(target, StreamLevel):
        return await _from_storage(request, target.key, target.name, token)
    rendition, name = target.rendition, target.name
    output = request.app[LIVE_KEY].get(stream_id)
    live = output.live if output is not None and output.run == target.run else None
    if live is not None and rendition in live.renditions:
        assert output is not None
        if name == PLAYLIST:
            return await _live_playlist(request, output, rendition, token)
        if target.part is not None:
            msn, index = target.part
            data = await live.wait_for_part(
                rendition, msn, index, hold_limit(output.segment_duration)
            )
            if data is None:
                raise MediaNotFound("no such part", meta={"name": name})
            metrics = request.app.get(METRICS)
            age = live.part_age(rendition, msn, index)
            if metrics is not None and age is not None:
                metrics.part_delivery.labels("app").observe(age)
            return web.Response(body=data, headers=object_headers(name))
        if target.segment is not None:
            data = live.segment_bytes(rendition, target.segment)
            if data is not None:
                return web.Response(body=data, headers=object_headers(name))
    if target.part is not None:
        raise MediaNotFound("parts exist only while a broadcast is live", meta={"name": name})
    return await _from_storage(request, f"{stream_id}/{path}", name, token)


def add_routes(app: web.Application, policy: PlaybackPolicy) -> None:
    """``/hls/``: live objects from ``LIVE_KEY``, the rest from the node's storage (``STORAGE``)."""
    app[LIVE_KEY] = {}  # none until the node's broadcasts start (an API node has none)
    app[POLICY_KEY] = policy
    app.router.add_get("/hls/{stream_id}/{path:.+}", serve)
