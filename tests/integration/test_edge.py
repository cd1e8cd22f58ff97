"""The LL-HLS edge (hls/edge.py) over real sockets: HTTP/1.1 framing, holds, redirects, reads.

The semantics it shares with the aiohttp origin (blocking reload, 400/503, tokens, 404s) are
tested against both servers in test_blocking_reload.py, test_origin.py and
test_playback_access.py; here is what only the edge has (pipelining, pre-built bytes written to
every held connection, its own HTTP framing), plus a real broadcast read through it.

Some tests drive a broadcast by hand: a real ``LiveBroadcast`` in the server's live table, fed
parts by the test (as the packager would), so that a publish happens exactly when the test says.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import m3u8
import pytest
import pytest_asyncio

from api.streams import store
from hls.edge import LlHlsEdge
from hls.live import LiveBroadcast
from hls.output import HlsOutput
from hls.packager import Part, Segment
from live.broadcasts import LiveBroadcast as Broadcast
from live.broadcasts import assemble
from tests.hlscheck import ffprobe_json, variant_url, wait_for_master, wait_for_playlist
from tests.integration.test_live_path import LADDER, check_low_latency_tags
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEGMENT = 0.5  # seconds: a held request times out after 1.5 s
PARTS = 3  # per segment


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


async def read_reply(reader: asyncio.StreamReader, *, head_only: bool = False) -> Reply:
    """One HTTP/1.1 response (Content-Length framing, as the edge always sends)."""
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    body = b"" if head_only else await asyncio.wait_for(reader.readexactly(length), 10)
    return Reply(status, headers, body)


def get(path: str, *extra: str, method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *extra, "", ""]
    return "\r\n".join(lines).encode()


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed the connection (EOF) rather than keep it open."""
    return await asyncio.wait_for(reader.read(1), 10) == b""


@dataclass
class HandFed:
    """A broadcast fed by hand, in the server's live table (seen by the app and the edge)."""

    stream_id: str
    output: HlsOutput
    live: LiveBroadcast
    rendition: str = "720p"

    def path(self, name: str) -> str:
        return f"/hls/{self.stream_id}/{self.output.run}/{self.rendition}/{name}"

    def publish_next(self) -> tuple[int, int]:
        """Publish the next part (and close the segment on its last part); returns its (msn, i)."""
        r = self.live.renditions[self.rendition]
        msn, index = r.last_part if r.last_part[0] >= 0 else (1, -1)
        msn, index = (msn, index + 1) if index + 1 < PARTS else (msn + 1, 0)
        data = b"moof" + f"{msn}.{index}".encode() * 1000
        start, dur = msn * SEGMENT + index * SEGMENT / PARTS, SEGMENT / PARTS
        self.live.publish_part(self.rendition, Part(msn, index, start, dur, data, not index))
        if index == PARTS - 1:
            parts = self.live.renditions[self.rendition].parts
            whole = b"".join(parts[(msn, i)] for i in range(PARTS))
            self.live.publish_segment(
                self.rendition, Segment(msn, msn * SEGMENT, SEGMENT, whole, True, PARTS)
            )
        return msn, index

    def next_part(self) -> tuple[int, int]:
        msn, index = self.live.renditions[self.rendition].last_part
        return (msn, index + 1) if index + 1 < PARTS else (msn + 1, 0)


@pytest_asyncio.fixture(loop_scope="session")
async def fed(server) -> AsyncIterator[HandFed]:
    row, _ = await store.create_stream(server.pool, title="Hand fed", creator_handle="h")
    sid = str(row.id)
    output = HlsOutput(
        sid,
        server.broadcasts.storage,
        segment_duration=SEGMENT,
        part_duration=SEGMENT / PARTS,
        window=5,
        retention=2,
        audio_bitrate=128_000,
        loop=asyncio.get_running_loop(),
    )
    output.live = LiveBroadcast(
        run=output.run,
        renditions=["720p", "240p"],
        segment_duration=SEGMENT,
        part_duration=SEGMENT / PARTS,
        window=5,
    )
    # Listed as the node's broadcast of the stream (its pipeline never runs: fed by hand).
    media = assemble(sid, server.settings, output.storage, loop=asyncio.get_running_loop())
    broadcast = Broadcast(row, media._replace(output=output))
    broadcast.serving = True
    server.broadcasts.add(broadcast)
    feed = HandFed(sid, output, output.live)
    feed.publish_next()
    yield feed
    server.broadcasts.discard(broadcast)


@pytest_asyncio.fixture(loop_scope="session")
async def edge_conn(server) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.settings.edge_listen_port)
    yield reader, writer
    writer.close()


def edge_of(server) -> LlHlsEdge:
    from api.keys import EDGE

    return server.app[EDGE]


async def test_keep_alive_serves_several_requests_on_one_connection(fed, edge_conn):
    reader, writer = edge_conn
    msn, index = fed.live.renditions["720p"].last_part
    for name in ("index.m3u8", f"part{msn}.{index}.m4s", "index.m3u8?_HLS_skip=YES"):
        writer.write(get(fed.path(name)))
        reply = await read_reply(reader)
        assert reply.status == 200, reply
        assert reply.headers["access-control-allow-origin"] == "*"
        assert "connection" not in reply.headers  # kept open
    assert reply.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert reply.headers["cache-control"] == "no-cache, no-store, must-revalidate"


async def test_pipelined_requests_are_answered_in_order_behind_a_held_one(fed, edge_conn):
    reader, writer = edge_conn
    msn, index = fed.next_part()
    old_msn, old_index = fed.live.renditions["720p"].last_part
    # One write: a blocking reload for a part that does not exist yet, then two that do.
    writer.write(
        get(fed.path(f"index.m3u8?_HLS_msn={msn}&_HLS_part={index}"))
        + get(fed.path(f"part{old_msn}.{old_index}.m4s"))
        + get(fed.path("index.m3u8"), method="HEAD")
    )
    with pytest.raises(TimeoutError):  # nothing is answered before the held request
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.3)
    fed.publish_next()
    first = await read_reply(reader)
    second = await read_reply(reader)
    third = await read_reply(reader, head_only=True)
    assert first.status == 200 and f"part{msn}.{index}.m4s".encode() in first.body
    assert second.status == 200
    assert second.body == fed.live.renditions["720p"].parts[(old_msn, old_index)]
    assert second.headers["content-type"] == "video/iso.segment"
    assert "immutable" in second.headers["cache-control"]
    assert third.status == 200 and int(third.headers["content-length"]) > 0
    writer.write(get(fed.path("index.m3u8")))  # and the connection still works
    assert (await read_reply(reader)).status == 200


async def test_head_sends_the_get_headers_without_a_body(fed, edge_conn):
    reader, writer = edge_conn
    msn, index = fed.live.renditions["720p"].last_part
    path = fed.path(f"part{msn}.{index}.m4s")
    writer.write(get(path, method="HEAD") + get(path))
    head = await read_reply(reader, head_only=True)
    full = await read_reply(reader)
    assert head.status == full.status == 200
    assert head.headers["content-length"] == full.headers["content-length"] == str(len(full.body))
    assert head.headers["content-type"] == full.headers["content-type"]


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "BAD_REQUEST"),
        (b"GET /hls/x HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n", 400, "BAD_REQUEST"),
        (get("/hls/x", "X-Big: " + "a" * 20_000), 431, "HEADERS_TOO_LARGE"),
        (get("/hls/" + "a" * 9000), 414, "URI_TOO_LONG"),
    ],
)
async def test_malformed_or_oversized_requests_are_refused_and_closed(
    edge_conn, request_bytes, status, code
):
    reader, writer = edge_conn
    writer.write(request_bytes)
    reply = await read_reply(reader)
    assert reply.status == status
    body = reply.json()
    assert body["status"] == "error" and body["code"] == code and body["requestId"]
    assert reply.headers["connection"] == "close"
    assert await closed(reader)


async def test_connection_close_and_http_1_0_are_honoured(server, fed):
    port = server.settings.edge_listen_port
    for request in (
        get(fed.path("index.m3u8"), "Connection: close"),
        f"GET {fed.path('index.m3u8')} HTTP/1.0\r\n\r\n".encode(),
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        reply = await read_reply(reader)
        assert reply.status == 200 and reply.headers["connection"] == "close"
        assert reply.body.startswith(b"#EXTM3U")
        assert await closed(reader)
        writer.close()


async def test_other_methods_are_405_and_preflights_are_answered(fed, edge_conn):
    reader, writer = edge_conn
    writer.write(get(fed.path("index.m3u8"), "Content-Length: 2", method="POST") + b"{}")
    reply = await read_reply(reader)
    assert reply.status == 405 and reply.json()["code"] == "METHOD_NOT_ALLOWED"
    assert reply.headers["allow"] == "GET, HEAD, OPTIONS"
    writer.write(get(fed.path("index.m3u8"), "Origin: http://elsewhere", method="OPTIONS"))
    reply = await read_reply(reader)
    assert reply.status == 204 and reply.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/", "NOT_FOUND"),
        ("/api/v1/streams", "NOT_FOUND"),
        ("/hls/not-a-uuid/index.m3u8", "MEDIA_NOT_FOUND"),
        ("/hls/0c7b5a1e-1111-4222-8333-444455556666/index.m3u8", "MEDIA_NOT_FOUND"),
    ],
)
async def test_unknown_paths_get_the_404_envelope(edge_conn, path, code):
    reader, writer = edge_conn
    writer.write(get(path, "X-Request-Id: trace-me"))
    reply = await read_reply(reader)
    assert reply.status == 404
    body = reply.json()
    assert body["status"] == "error" and body["code"] == code and body["requestId"] == "trace-me"
    assert reply.headers["x-request-id"] == "trace-me"


async def test_objects_not_in_memory_are_redirected_to_the_app(server, fed, edge_conn, http):
    reader, writer = edge_conn
    # No segment was kept in memory, no init segment packaged, posters live in storage.
    for path in (fed.path("seg9.m4s"), fed.path("init.mp4"), f"/hls/{fed.stream_id}/poster.jpg"):
        writer.write(get(path + "?token=abc"))
        reply = await read_reply(reader)
        assert reply.status == 307
        assert reply.headers["location"] == f"{server.base_url}{path}?token=abc"
        assert reply.headers["access-control-allow-origin"] == "*"
    writer.write(get(fed.path("seg9.m4s.bak")))  # no such object: no redirect
    assert (await read_reply(reader)).status == 404
    # The app answers after the redirect (the client follows it).
    storage = server.broadcasts.storage
    await storage.put(f"{fed.stream_id}/poster.jpg", b"\xff\xd8jpeg", "image/jpeg")
    async with http.get(f"{server.edge_url}/hls/{fed.stream_id}/poster.jpg") as res:
        assert res.status == 200 and await res.read() == b"\xff\xd8jpeg"
        assert str(res.url).startswith(server.base_url)


async def test_held_request_times_out_with_503(server, fed, http, hls_server):
    msn, index = fed.next_part()
    url = server.hls_url(hls_server) + fed.path(f"index.m3u8?_HLS_msn={msn}&_HLS_part={index}")
    started = time.monotonic()
    async with http.get(url) as res:
        assert res.status == 503
        assert res.headers["Retry-After"] == "1"
        body = await res.json()
    assert body["code"] == "PLAYLIST_NOT_READY" and body["retryAfter"] == 1
    assert time.monotonic() - started >= 3 * SEGMENT  # held for the whole hold time first


async def test_a_thousand_held_requests_are_answered_by_one_publish(server, fed):
    edge = edge_of(server)
    port = server.settings.edge_listen_port
    msn, index = fed.next_part()
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(1000)]
    # Half blocking playlist reloads, half the preload-hinted part itself.
    for i, (_, writer) in enumerate(conns):
        name = f"index.m3u8?_HLS_msn={msn}&_HLS_part={index}" if i % 2 else f"part{msn}.{index}.m4s"
        writer.write(get(fed.path(name)))
    deadline = time.monotonic() + 20
    while edge.held_count() < 1000 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert edge.held_count() == 1000
    # Every request waits on the same one future of that part.
    assert list(fed.live.renditions["720p"].waiting) == [(msn, index)]
    released, renders = edge.stats.released, fed.live.renders
    fed.publish_next()
    replies = await asyncio.gather(*(read_reply(reader) for reader, _ in conns))
    part = fed.live.renditions["720p"].parts[(msn, index)]
    for i, reply in enumerate(replies):
        assert reply.status == 200
        if i % 2:
            assert f"part{msn}.{index}.m4s".encode() in reply.body
        else:
            assert reply.body == part
    assert edge.stats.released - released == 1000
    assert edge.stats.largest_release >= 1000  # one callback answered them all
    assert fed.live.renders - renders <= 1  # one playlist rendering for 500 playlist answers
    for _, writer in conns:
        writer.close()


async def test_idle_connections_are_closed(server, fed):
    from hls.origin import POLICY_KEY

    edge = LlHlsEdge(
        outputs=server.broadcasts.hls_outputs,
        policy=server.app[POLICY_KEY],
        app_port=server.settings.port,
        idle_timeout=0.3,
    )
    await edge.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", edge.port)
        writer.write(get(fed.path("index.m3u8")))
        assert (await read_reply(reader)).status == 200
        assert await closed(reader)  # after the idle timeout, by the server
        assert not edge.connections
        writer.close()
    finally:
        await edge.close()


async def test_a_broadcast_reads_back_through_the_edge(server, http, new_stream):
    """Master and media playlists from the edge: conformant LL-HLS, read by ffprobe."""
    stream_id, token = await new_stream("Through the edge")
    pub = await publish(http, server.base_url, stream_id, token)
    try:
        async with http.get(f"{server.base_url}/api/v1/streams/{stream_id}") as res:
            data = (await res.json())["data"]
        assert data["hlsUrl"] == f"{server.edge_url}/hls/{stream_id}/index.m3u8"
        master = await wait_for_master(http, server.edge_url, stream_id)
        assert sorted(p.stream_info.resolution for p in master.playlists) == sorted(LADDER.values())
        url = await variant_url(http, server.edge_url, stream_id, 480)
        assert url.startswith(server.edge_url)
        pl = await wait_for_playlist(http, url, segments=2)
        check_low_latency_tags(pl, others=2)
        async with http.get(url) as res:
            assert str(res.url) == url  # served by the edge itself, not redirected
        probe = await ffprobe_json("-show_streams", url)
        kinds = {s["codec_type"]: s for s in probe["streams"]}
        assert (kinds["video"]["width"], kinds["video"]["height"]) == LADDER[480]
        assert kinds["video"]["codec_name"] == "h264" and kinds["audio"]["codec_name"] == "aac"
        probe = await ffprobe_json("-show_streams", f"{server.edge_url}/hls/{stream_id}/index.m3u8")
        widths = sorted(s["width"] for s in probe["streams"] if s["codec_type"] == "video")
        assert widths == [426, 854, 1280]
        # The parts the edge lists are the parts it serves.
        async with http.get(url) as res:
            live = m3u8.loads(await res.text(), uri=url)
        listed = [p for s in live.segments for p in s.parts]
        async with http.get(listed[-1].absolute_uri) as res:
            assert res.status == 200 and str(res.url) == listed[-1].absolute_uri
            assert (await res.read())[4:8] == b"moof"
    finally:
        await pub.delete(http, server.base_url)


async def test_a_foreign_host_never_reaches_the_redirect(server, fed, edge_conn):
    """The 307's Location is built from the allowed hosts (Settings.hosts), never from any
    Host a client writes: a shared cache in front would otherwise hand the poisoned
    redirect to everyone."""
    reader, writer = edge_conn
    path = fed.path("seg9.m4s")
    port = server.settings.port
    for host in ("evil.example", "evil.example:443", "127.0.0.1.evil.example", "[::1]", "x y"):
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "", ""]
        writer.write("\r\n".join(lines).encode())
        reply = await read_reply(reader)
        if reply.status == 400:  # malformed Host: refused by the parser, connection closed
            break
        assert reply.status == 307, host
        assert reply.headers["location"] == f"http://localhost:{port}{path}", host


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("trace-me", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("a" * 6000, False),
        ("has space", False),
        ('quote"', False),
        ("ümlaut", False),
    ],
)
async def test_only_a_short_token_like_request_id_is_echoed(edge_conn, given, kept):
    reader, writer = edge_conn
    writer.write(get("/", f"X-Request-Id: {given}".encode().decode("latin-1")))
    reply = await read_reply(reader)
    rid = reply.headers["x-request-id"]
    assert reply.json()["requestId"] == rid
    assert (rid == given) is kept and len(rid) <= 64
    if not kept:  # a new id, not the caller's text cut short (what both servers did before)
        assert not given.startswith(rid)
