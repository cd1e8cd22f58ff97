"""The LL-HLS edge: a lean HTTP/1.1 server for live viewers' hot path, beside the aiohttp app.

Why it exists: every LL-HLS viewer makes two requests per part (the blocking playlist reload
and the part), and every viewer of a stream waits on the same part, so each part releases one
burst of two responses per viewer. aiohttp spends ~200 µs of CPU per request; 5,000 viewers
would make each burst last a second. Here a held request costs no Task and no Future: its
connection is filed under the one future :class:`hls.live.LiveBroadcast` resolves when the
part is published (one done-callback per part, not per request), and on publish the same
pre-built response bytes (status line, headers, body; built once per object, playlist version,
token and second) are written to every connection filed there, in one loop.

It answers, with the semantics, headers and error envelope of :mod:`hls.origin` (the shared
pieces are :mod:`hls.request`, :class:`hls.origin.PlaybackPolicy`, ``tokenize_playlist``):

* ``/hls/{id}/index.m3u8``, the master, while the broadcast is live on this node;
* ``/hls/{id}/{run}/{rendition}/index.m3u8`` with ``_HLS_msn``/``_HLS_part``/``_HLS_skip``,
  ``part{M}.{I}.m4s`` (held on the preload hint), ``init.mp4`` and the segments still in memory.

Anything else under ``/hls/`` that exists only in storage (ended or recorded broadcasts,
posters, stored segments, VOD playlists) gets a ``307`` to the same URL on the app, which
serves it from storage or its CDN. Other paths are 404 envelopes; methods other than GET/HEAD
are 405 (OPTIONS answers CORS preflights). Playlists name their objects relatively, so a
player that starts at the edge stays on it while the broadcast is live.

HTTP/1.1 as players use it: keep-alive, pipelined requests answered in order, ``Connection:
close``, HTTP/1.0 (always closed), an idle timeout, bounded request line and headers (414/431),
malformed requests answered 400 and closed. Parsing is httptools (llhttp).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Final, cast
from urllib.parse import unquote

import httptools

from hls.access import tokenize_playlist
from hls.edge_http import (
    ALLOWED,
    MAX_BODY,
    MAX_HEADERS,
    MAX_URL,
    HttpDate,
    HttpError,
    error_response,
    parse_query,
    request_id,
    response,
)
from hls.errors import MediaNotFound
from hls.live import INIT, PLAYLIST, LiveBroadcast
from hls.origin import PlaybackPolicy
from hls.output import HlsOutput
from hls.request import (
    HlsObject,
    PlaylistQuery,
    StreamLevel,
    check_stream_id,
    hold_limit,
    not_ready_error,
    object_headers,
    parse_object_path,
    parse_playlist_query,
    too_far_ahead_error,
)
from teezu.errors import TeezuError
from teezu.public_urls import on_port, trusted_host

log = logging.getLogger(__name__)

TICK = 0.1  # seconds between sweeps of held requests past their hold time
_PLAYLIST_HEADERS = object_headers(PLAYLIST)
_PART_HEADERS = object_headers("part0.0.m4s")
_INIT_HEADERS = object_headers(INIT)

Reply = tuple[bytes, int]  # a whole response and the length of its head


# A parsed request: (method, target, keep-alive, X-Request-Id, Host, X-Viewer-Country). A plain
# tuple of bytes,
# str, bool and None on purpose: CPython stops tracking such tuples in its cyclic GC, so the
# thousands of requests held at any moment never churn through the GC's older generations
# (objects would, and trigger its full collections: ~80 ms pauses, measured).
Request = tuple[bytes, bytes, bool, str | None, str | None, str | None]
# Its fields' indices (Final: literal ints, so each index has its own type).
METHOD: Final = 0
TARGET: Final = 1
KEEP_ALIVE: Final = 2
REQUEST_ID: Final = 3
HOST: Final = 4
PLACE: Final = 5


class _HeldGroup:
    """The requests filed under one part's future, in arrival order (so in deadline order).

    Parallel deques rather than an object per request, for the same reason as ``Request``.
    """

    __slots__ = ("stream_id", "live", "rendition", "msn", "index", "conns", "reqs", "deadlines",
                 "variants")  # fmt: skip

    def __init__(
        self, stream_id: str, live: LiveBroadcast, rendition: str, msn: int, index: int | None
    ) -> None:
        self.stream_id = stream_id
        self.live = live
        self.rendition = rendition
        self.msn = msn
        self.index = index  # None: a playlist waiting for a whole segment
        self.conns: deque[EdgeConnection] = deque()
        self.reqs: deque[Request] = deque()
        self.deadlines: deque[float] = deque()
        # What each wants once the part exists: ("playlist", skip, token) or ("part",).
        self.variants: deque[tuple[object, ...]] = deque()

    def add(
        self, conn: EdgeConnection, req: Request, deadline: float, variant: tuple[object, ...]
    ) -> None:
        self.conns.append(conn)
        self.reqs.append(req)
        self.deadlines.append(deadline)
        self.variants.append(variant)

    def popleft(self) -> tuple[EdgeConnection, Request]:
        self.deadlines.popleft()
        self.variants.popleft()
        return self.conns.popleft(), self.reqs.popleft()


class EdgeStats:
    """Counters for tests and benchmarks."""

    __slots__ = ("requests", "held", "released", "largest_release", "timeouts", "redirects",
                 "releases", "statuses")  # fmt: skip

    def __init__(self) -> None:
        self.requests = 0
        self.held = 0  # requests that had to wait for a part
        self.released = 0  # held requests answered by a publish
        self.largest_release = 0  # most held requests one publish answered
        self.timeouts = 0  # held requests answered 503
        self.redirects = 0
        # The last releases: (monotonic start, requests answered, seconds to write them all).
        self.releases: deque[tuple[float, int, float]] = deque(maxlen=4096)
        self.statuses: dict[bytes, int] = {}  # responses by status code (b"200"), for /metrics


class LlHlsEdge:
    """The edge server: one per process, on the app's event loop, reading its live table."""

    def __init__(
        self,
        *,
        outputs: Mapping[str, HlsOutput],
        policy: PlaybackPolicy,
        app_port: int,
        app_url: str = "",
        hosts: frozenset[str] = frozenset({"localhost", "127.0.0.1"}),
        idle_timeout: float = 75.0,
    ) -> None:
        self.outputs = outputs  # the node's live broadcasts' outputs (read-only)
        self.policy = policy
        self.app_port = app_port
        # Where redirects go; empty: the request's host if in ``hosts`` (else localhost).
        self.app_url = app_url.rstrip("/")
        self.hosts = hosts
        self.idle_timeout = idle_timeout
        self.stats = EdgeStats()
        # Called with a part's age (seconds since its publish) as it goes out (/metrics).
        self.on_part_delivered: Callable[[float], None] | None = None
        self.connections: set[EdgeConnection] = set()
        self._held: dict[asyncio.Future[None], _HeldGroup] = {}
        self._date = HttpDate()
        self._cache: dict[tuple[object, ...], Reply] = {}
        self._cache_second = -1
        self._routes: dict[bytes, tuple[str, HlsObject | StreamLevel | MediaNotFound]] = {}
        self._queries: dict[bytes, dict[str, str]] = {}
        self._playlist_queries: dict[bytes, PlaylistQuery] = {}
        # Immutable objects of public streams by request target (keep-alive GET/HEAD only):
        # a viewer's part request costs a dict lookup. Cleared with the responses each second.
        self._fast: dict[bytes, tuple[str, Reply]] = {}
        self._server: asyncio.Server | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._ticks = 0
        self.port = 0
        self.now = time.monotonic()  # the sweep's clock (TICK resolution): idle times, fast path

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, host: str, port: int, *, backlog: int = 4096) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: EdgeConnection(self), host, port, backlog=backlog, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._tick = loop.call_later(TICK, self._sweep)
        log.info("LL-HLS edge listening", extra={"host": host, "port": self.port})

    async def close(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.abort()
        if self._server is not None:
            await self._server.wait_closed()

    def held_count(self) -> int:
        """Requests waiting for a part right now."""
        return sum(len(group.conns) for group in self._held.values())

    # --- answering ----------------------------------------------------------------------

    def dispatch(self, conn: EdgeConnection, req: Request) -> None:
        """Answer ``req`` now, or file it to be answered by a publish or a lookup."""
        self.stats.requests += 1
        try:
            self._dispatch(conn, req)
        except (TeezuError, HttpError) as exc:
            close = isinstance(exc, HttpError) and exc.close
            conn.respond(req, self._error(exc, req, close=close), close=close)
        except Exception:
            log.exception("edge request failed", extra={"target": req[TARGET][:200]})
            error = HttpError(500, "internal error", close=False, code="INTERNAL_ERROR")
            conn.respond(req, self._error(error, req))

    def _dispatch(self, conn: EdgeConnection, req: Request) -> None:
        method, target_bytes, keep_alive = req[METHOD], req[TARGET], req[KEEP_ALIVE]
        if method != b"GET" and method != b"HEAD":
            if method == b"OPTIONS":
                conn.respond(req, self._preflight(req))
                return
            raise HttpError(405, "Method Not Allowed", close=False)
        fast = self._fast.get(target_bytes)
        if fast is not None and self.policy.public_until(fast[0]) > self.now:
            conn.respond(req, fast[1])
            return
        raw_path, _, raw_query = target_bytes.partition(b"?")
        # Every viewer of a rendition asks for the same few URLs: parse each once.
        route = self._routes.get(raw_path)
        if route is None:
            route = self._route(raw_path)
        stream_id, target = route
        lookup = self.policy.lookup(stream_id)
        if not lookup.done():
            # The first request in a while for this stream: its visibility is being read
            # (single flight, shared with every request that misses meanwhile).
            lookup.add_done_callback(lambda _: conn.resume(req))
            return
        query = self._queries.get(raw_query)
        if query is None:
            query = parse_query(raw_query.decode("latin-1"))
            if len(self._queries) > 4096:
                self._queries.clear()
            self._queries[raw_query] = query
        token = self.policy.decide(
            stream_id,
            lookup.result(),
            query.get("token"),
            # Only streams with geo-blocks ask where the viewer is (a cached CIDR lookup).
            lambda: self.policy.locate(conn.peer, req[PLACE]),
        )
        if isinstance(target, MediaNotFound):  # refused only once access is granted, as the app
            raise target
        output = self.outputs.get(stream_id)
        if not isinstance(target, HlsObject):
            # The master while live comes from memory; posters and VOD masters from the app.
            master = None
            if target.name == PLAYLIST and output is not None and not output.ended:
                master = output.master_playlist()
            if output is None or master is None:
                conn.respond(req, self._redirect(req))
                return
            key: tuple[object, ...] = (stream_id, output.run, "master", token)
            conn.respond(req, self._cached(key, keep_alive, _PLAYLIST_HEADERS, master, token))
            return
        live = output.live if output is not None and output.run == target.run else None
        rendition = target.rendition
        if live is None or output is None or rendition not in live.renditions:
            if target.part is not None:
                raise MediaNotFound(
                    "parts exist only while a broadcast is live", meta={"name": target.name}
                )
            conn.respond(req, self._redirect(req))
            return
        if target.name == PLAYLIST:
            q = self._playlist_queries.get(raw_query)
            if q is None:
                q = parse_playlist_query(query)
                if len(self._playlist_queries) > 4096:
                    self._playlist_queries.clear()
                self._playlist_queries[raw_query] = q
            if q.msn is not None:
                if live.too_far_ahead(rendition, q.msn):
                    raise too_far_ahead_error(live.renditions[rendition].last_segment)
                fut = live.waiter(rendition, q.msn, q.part)
                if fut is not None:
                    group = self._group(fut, stream_id, live, rendition, q.msn, q.part)
                    hold_for = hold_limit(output.segment_duration)
                    group.add(conn, req, time.monotonic() + hold_for, ("playlist", q.skip, token))
                    self.stats.held += 1
                    return
            conn.respond(req, self._playlist(stream_id, live, rendition, q.skip, token, keep_alive))
        elif target.part is not None:
            msn, index = target.part
            if live.part_is_ahead(rendition, msn, index):
                fut = live.waiter(rendition, msn, index)
                if fut is not None:
                    group = self._group(fut, stream_id, live, rendition, msn, index)
                    hold_for = hold_limit(output.segment_duration)
                    group.add(conn, req, time.monotonic() + hold_for, ("part",))
                    self.stats.held += 1
                    return
            reply = self._part(stream_id, live, rendition, msn, index, keep_alive)
            if reply is None:
                raise _no_part(target.name)
            if token is None and keep_alive:
                self._fast[target_bytes] = (stream_id, reply)
            conn.respond(req, reply)
        elif target.segment is not None:
            data = live.segment_bytes(rendition, target.segment)
            if data is None:  # already in storage
                conn.respond(req, self._redirect(req))
                return
            key = (stream_id, live.run, rendition, "seg", target.segment)
            conn.respond(req, self._cached(key, keep_alive, _PART_HEADERS, data))
        elif target.name == INIT and rendition in output.inits:
            key = (stream_id, live.run, rendition, "init")
            init = output.inits[rendition].data
            conn.respond(req, self._cached(key, keep_alive, _INIT_HEADERS, init))
        else:
            conn.respond(req, self._redirect(req))

    def _route(self, raw_path: bytes) -> tuple[str, HlsObject | StreamLevel | MediaNotFound]:
        """(stream id, object) of a request path; raises the 404 the app would give at once.

        A path that names no object under a valid stream id comes back as its 404, to be raised
        after the access check (a refused viewer learns nothing about what exists).
        """
        path = raw_path.decode("latin-1")
        if "%" in path:
            path = unquote(path)
        if not path.startswith("/hls/"):
            raise HttpError(404, "Not Found", close=False)
        stream_id, _, object_path = path[5:].partition("/")
        if not object_path:
            raise HttpError(404, "Not Found", close=False)
        check_stream_id(stream_id)
        try:
            target = parse_object_path(stream_id, object_path)
        except MediaNotFound as exc:
            return stream_id, exc
        route = (stream_id, target)
        if len(self._routes) > 4096:
            self._routes.clear()
        self._routes[raw_path] = route
        return route

    def _playlist(
        self,
        stream_id: str,
        live: LiveBroadcast,
        rendition: str,
        skip: bool,
        token: str | None,
        keep_alive: bool,
    ) -> Reply:
        key = (stream_id, live.run, rendition, "pl", live.version, skip, token)
        # live.playlist() is rendered once per version; tokenizing happens on a cache miss only.
        text = live.playlist(rendition, skip=skip)
        return self._cached(key, keep_alive, _PLAYLIST_HEADERS, text, token)

    def _part(
        self,
        stream_id: str,
        live: LiveBroadcast,
        rendition: str,
        msn: int,
        index: int,
        keep_alive: bool,
    ) -> Reply | None:
        data = live.renditions[rendition].parts.get((msn, index))
        if data is None:  # the broadcast ended first, or the part is long gone
            return None
        if self.on_part_delivered is not None:
            age = live.part_age(rendition, msn, index)
            if age is not None:
                self.on_part_delivered(age)
        key = (stream_id, live.run, rendition, "part", msn, index)
        return self._cached(key, keep_alive, _PART_HEADERS, data)

    def _cached(
        self,
        key: tuple[object, ...],
        keep_alive: bool,
        headers: dict[str, str],
        body: str | bytes,
        token: str | None = None,
    ) -> Reply:
        """The response for ``key``, built once per second (its Date) and shared."""
        second, date = self._date.at(time.time())
        if not keep_alive:  # Connection: close is in the head: not the shared bytes
            return response(200, headers, _body(body, token), date, close=True)
        if second != self._cache_second or len(self._cache) > 4096:
            self._clear_responses(second)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = response(200, headers, _body(body, token), date)
        return hit

    def _clear_responses(self, second: int) -> None:
        """Forget the pre-built responses (their Date is ``second``'s from now on)."""
        self._cache.clear()
        self._fast.clear()
        self._cache_second = second

    def _group(
        self,
        fut: asyncio.Future[None],
        stream_id: str,
        live: LiveBroadcast,
        rendition: str,
        msn: int,
        index: int | None,
    ) -> _HeldGroup:
        """The requests held on ``fut`` (one done-callback for them all)."""
        group = self._held.get(fut)
        if group is None:
            group = self._held[fut] = _HeldGroup(stream_id, live, rendition, msn, index)
            fut.add_done_callback(self._release)
        return group

    def _release(self, fut: asyncio.Future[None]) -> None:
        """A part was published: every request filed under it gets its (shared) response."""
        group = self._held.pop(fut, None)
        if group is None:
            return
        started = time.monotonic()
        answered = 0
        replies: dict[tuple[object, ...], Reply | None] = {}
        for conn, req, variant in zip(group.conns, group.reqs, group.variants, strict=True):
            if conn.current is not req:
                continue  # closed, or answered 503 meanwhile
            key = (variant, req[KEEP_ALIVE])
            if key in replies:
                reply = replies[key]
            else:
                reply = replies[key] = self._held_reply(group, variant, req[KEEP_ALIVE])
            if reply is None:  # a part that never came (the broadcast ended): its own 404
                name = req[TARGET].partition(b"?")[0].rsplit(b"/", 1)[-1].decode("latin-1")
                conn.respond(req, self._error(_no_part(name), req))
            else:
                conn.respond(req, reply)
            answered += 1
        self.stats.released += answered
        self.stats.largest_release = max(self.stats.largest_release, answered)
        self.stats.releases.append((started, answered, time.monotonic() - started))

    def _held_reply(
        self, group: _HeldGroup, variant: tuple[object, ...], keep_alive: bool
    ) -> Reply | None:
        if variant[0] == "playlist":
            skip, token = bool(variant[1]), cast("str | None", variant[2])
            live, rendition = group.live, group.rendition
            return self._playlist(group.stream_id, live, rendition, skip, token, keep_alive)
        assert group.index is not None
        return self._part(
            group.stream_id, group.live, group.rendition, group.msn, group.index, keep_alive
        )

    def _sweep(self) -> None:
        """Every TICK: 503 for held requests past their hold time; close idle connections."""
        loop = asyncio.get_running_loop()
        self._tick = loop.call_later(TICK, self._sweep)
        now = self.now = time.monotonic()
        second = int(time.time())
        if second != self._cache_second:
            self._clear_responses(second)
        for fut, group in list(self._held.items()):
            # Arrival order is deadline order: only the front can be due.
            deadlines = group.deadlines
            while deadlines and deadlines[0] <= now:
                conn, req = group.popleft()
                if conn.current is req:
                    self.stats.timeouts += 1
                    conn.respond(req, self._error(not_ready_error(), req))
            if not deadlines:
                del self._held[fut]
        self._ticks += 1
        if self._ticks % 10 == 0:
            idle_before = now - self.idle_timeout
            for conn in [c for c in self.connections if c.idle_since(idle_before)]:
                conn.close()

    def _error(
        self, exc: TeezuError | HttpError, req: Request | None, *, close: bool = False
    ) -> Reply:
        _, date = self._date.at(time.time())
        close = close or (req is not None and not req[KEEP_ALIVE])
        rid = request_id(req[REQUEST_ID] if req is not None else None)
        return error_response(exc, rid, date, close=close)

    def _redirect(self, req: Request) -> Reply:
        """307 to the same URL on the app (objects the edge does not hold in memory)."""
        self.stats.redirects += 1
        _, date = self._date.at(time.time())
        location = self._app_base(req[HOST]) + req[TARGET].decode("latin-1")
        headers = {
            "Location": location,
            "Cache-Control": "no-store",
            "Access-Control-Allow-Origin": "*",
        }
        return response(307, headers, b"", date, close=not req[KEEP_ALIVE])

    def _app_base(self, host: str | None) -> str:
        if self.app_url:
            return self.app_url
        name = trusted_host(host, self.hosts, "http://localhost")  # never an unlisted Host
        return on_port("http", name, self.app_port)

    def _preflight(self, req: Request) -> Reply:
        _, date = self._date.at(time.time())
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": ALLOWED,
            "Access-Control-Allow-Headers": "*",
            "Access-Control-Max-Age": "86400",
        }
        return response(204, headers, b"", date, close=not req[KEEP_ALIVE])


def _no_part(name: str) -> MediaNotFound:
    return MediaNotFound("no such part", meta={"name": name})


def _body(body: str | bytes, token: str | None) -> bytes:
    if isinstance(body, bytes):
        return body
    return (tokenize_playlist(body, token) if token is not None else body).encode()


class EdgeConnection(asyncio.Protocol):
    """One client connection: parses requests (httptools) and answers them in order."""

    def __init__(self, edge: LlHlsEdge) -> None:
        self.edge = edge
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Request | HttpError] = deque()
        self.current: Request | None = None  # being answered: held, or awaiting a lookup
        self.last_active = edge.now
        self._writable = True
        self._reading = True
        self._closed = False
        self._broken = False  # the parser failed: nothing more is read
        self._in_next = False
        self._url = b""
        self._header_bytes = 0
        self._body_bytes = 0
        self._rid: str | None = None
        self._host: str | None = None
        self._place: str | None = None
        self.peer: str | None = None  # the client's address (GeoIP for geo-blocked streams)
        self._method = b""
        self._keep_alive = True

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports implement the interface without subclassing asyncio.Transport)
        self.transport = cast(asyncio.Transport, transport)
        peername = transport.get_extra_info("peername")
        self.peer = peername[0] if isinstance(peername, tuple) else None
        self.edge.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.current = None
        self.queue.clear()
        self.edge.connections.discard(self)

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._next()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.edge.now
        if self._broken or self._closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # The request was read whole; what follows is not HTTP/1.1: answer, then close.
            self._broken = True
            last = self.queue[-1] if self.queue else None
            if isinstance(last, tuple):
                self.queue[-1] = (
                    last[METHOD],
                    last[TARGET],
                    False,
                    last[REQUEST_ID],
                    last[HOST],
                    last[PLACE],
                )
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            self._fail(cause if isinstance(cause, HttpError) else HttpError(400, "Bad Request"))
        except httptools.HttpParserError:
            self._fail(HttpError(400, "Bad Request"))
        if len(self.queue) > 16 and self._reading and self.transport is not None:
            self._reading = False  # a pipelining client far ahead of us: stop reading
            self.transport.pause_reading()
        self._next()

    def eof_received(self) -> bool | None:
        # The client finished sending; answer what it asked for, then close.
        if not self.queue and self.current is None:
            return None
        self._broken = True
        return True

    # --- httptools callbacks ------------------------------------------------------------

    # (The per-message state is reset in on_message_complete: one callback less per request.)

    def on_url(self, url: bytes) -> None:
        self._url = self._url + url if self._url else url
        if len(self._url) > MAX_URL:
            raise HttpError(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        size = self._header_bytes = self._header_bytes + len(name) + len(value) + 4
        if size > MAX_HEADERS:
            raise HttpError(431, "Request Header Fields Too Large")
        # Three headers matter: Host (redirects), X-Request-Id (error envelopes) and
        # X-Viewer-Country (a trusted proxy's GeoIP answer, for geo-blocked streams only).
        n = len(name)
        if n == 4 and name.lower() == b"host":
            self._host = value.decode("latin-1")
        elif n == 12 and name.lower() == b"x-request-id":
            self._rid = value.decode("latin-1")
        elif n == 16 and name.lower() == b"x-viewer-country":
            self._place = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._method = self.parser.get_method()
        self._keep_alive = (
            self.parser.should_keep_alive() and self.parser.get_http_version() == "1.1"
        )

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > MAX_BODY:
            raise HttpError(413, "Payload Too Large")

    def on_message_complete(self) -> None:
        self.queue.append(
            (self._method, self._url, self._keep_alive, self._rid, self._host, self._place)
        )
        self._url = b""
        self._header_bytes = 0
        self._body_bytes = 0
        self._rid = None
        self._host = None
        self._place = None

    # --- answering ----------------------------------------------------------------------

    def _fail(self, exc: HttpError) -> None:
        self._broken = True
        self.queue.append(exc)

    def _next(self) -> None:
        """Answer queued requests in order while nothing is held and the client keeps up."""
        if self._in_next:
            return
        self._in_next = True  # (dispatch never raises: it answers errors itself)
        queue = self.queue
        while self.current is None and queue and self._writable and not self._closed:
            item = queue.popleft()
            if isinstance(item, HttpError):
                self._write(self.edge._error(item, None, close=True)[0])
                self.close()
                break
            self.current = item
            self.edge.dispatch(self, item)
        self._in_next = False
        if not self._reading and len(queue) <= 4 and self.transport is not None:
            self._reading = True
            self.transport.resume_reading()
        if self._broken and self.current is None and not queue and not self._closed:
            self.close()

    def respond(self, req: Request, reply: Reply, *, close: bool = False) -> None:
        """Send the answer to ``req`` (ignored unless it is the request being answered)."""
        if self.current is not req or self._closed:
            return
        self.current = None
        data, head = reply
        statuses = self.edge.stats.statuses
        status = data[9:12]  # b"HTTP/1.1 200 ..."
        statuses[status] = statuses.get(status, 0) + 1
        self._write(data if req[METHOD] != b"HEAD" else data[:head])
        self.last_active = self.edge.now
        if close or not req[KEEP_ALIVE]:
            self.close()
            return
        if self.queue or self._broken:
            self._next()

    def resume(self, req: Request) -> None:
        """Dispatch ``req`` again (its stream's visibility lookup finished)."""
        if self.current is req and not self._closed:
            self.edge.dispatch(self, req)

    def idle_since(self, before: float) -> bool:
        return self.current is None and not self.queue and self.last_active < before

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self._closed:
            self.transport.write(data)

    def close(self) -> None:
        if not self._closed and self.transport is not None:
            self._closed = True
            self.current = None
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self._closed = True
            self.transport.abort()
