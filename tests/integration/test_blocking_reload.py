"""Blocking playlist reload (RFC 8216bis 6.2.5.2) and preload-hinted parts, over real HTTP.

Every test runs against the aiohttp origin and the LL-HLS edge (``hls_server``), on one
broadcast.
"""

from __future__ import annotations

import asyncio
import time

import m3u8
import pytest
import pytest_asyncio

from tests.hlscheck import fetch, variant_url, wait_for_playlist
from tests.performers import stream_of
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def live_stream(server, http_module, performer):
    """One broadcast shared by this module's tests: (playlist path, HlsOutput, rendition name)."""
    stream_id, token = await stream_of(server.pool, performer, "Blocking")
    pub = await publish(http_module, server.base_url, stream_id, token)
    url = await variant_url(http_module, server.base_url, stream_id)
    await wait_for_playlist(http_module, url, segments=1, timeout=20)
    yield url.removeprefix(server.base_url), server.broadcasts[stream_id].hls, "720p"
    await pub.delete(http_module, server.base_url)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def http_module():
    import aiohttp

    async with aiohttp.ClientSession() as session:
        yield session


def next_part(pl: m3u8.M3U8, parts_per_segment: int) -> tuple[int, int]:
    """(msn, part) of the part after the newest one listed."""
    last = pl.segments[-1]
    msn = pl.media_sequence + len(pl.segments) - 1
    if last.uri:  # the newest entry is a complete segment: next is part 0 of the next one
        return msn + 1, 0
    index = len(last.parts)
    return (msn + 1, 0) if index >= parts_per_segment else (msn, index)


async def test_request_for_next_part_returns_when_it_is_published(
    server, hls_server, live_stream, http_module
):
    """A request for the next part is held on that part's shared future and answered by its
    publication (a wake-up, not a poll): the order of events is checked, not the clock."""
    path, output, name = live_stream
    url = server.hls_url(hls_server) + path
    live = output.live
    rendition = live.renditions[name]
    delays: list[float] = []
    for _ in range(30):
        if len(delays) == 6:
            break
        async with http_module.get(url) as res:
            pl = m3u8.loads(await res.text())
        msn, part = next_part(pl, live.parts_per_segment)
        sent = time.monotonic()
        held = asyncio.create_task(fetch(http_module, f"{url}?_HLS_msn={msn}&_HLS_part={part}"))
        # Wait until the request is held on the part's future (or the part came first).
        while not held.done() and not (
            (msn, part) in rendition.waiting or (msn, part) in rendition.parts
        ):
            await asyncio.sleep(0.002)
        future = rendition.waiting.get((msn, part))
        if future is None:  # published before the request got there: not a held request
            await held
            continue
        assert not future.done() and (msn, part) not in rendition.parts
        status, body = await held
        arrived = time.monotonic()
        assert status == 200
        # The part's publication resolved the future the request was held on, and the answer is
        # the playlist as of then: it lists the part.
        assert future.done() and (msn, part) in rendition.parts
        published = rendition.published_at[(msn, part)]
        assert sent < published <= arrived
        listed = [p.uri for s in m3u8.loads(body.decode()).segments for p in s.parts]
        assert f"part{msn}.{part}.m4s" in listed
        delays.append(arrived - published)
    assert len(delays) == 6, delays
    # The delay is a figure of this run (the machine may be loaded), not a pass/fail.
    print(f"\nblocking reload: delivery delay after publish (s): {[round(d, 4) for d in delays]}")


async def test_preload_hint_part_is_held_until_it_exists(
    server, hls_server, live_stream, http_module
):
    path, output, name = live_stream
    url = server.hls_url(hls_server) + path
    async with http_module.get(url) as res:
        pl = m3u8.loads(await res.text())
    hint = pl.preload_hint.uri
    msn, idx = (int(x) for x in hint[4:-4].split("."))
    assert (msn, idx) not in output.live.renditions[name].parts
    async with http_module.get(url.rsplit("/", 1)[0] + "/" + hint) as res:
        assert res.status == 200
        data = await res.read()
    assert data == output.live.renditions[name].parts[(msn, idx)]
    assert data[4:8] == b"moof"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("_HLS_msn=999999", "BAD_PLAYLIST_REQUEST"),  # far beyond the live edge
        ("_HLS_part=1", "BAD_PLAYLIST_REQUEST"),  # part without msn
        ("_HLS_msn=abc", "BAD_PLAYLIST_REQUEST"),
        ("_HLS_msn=1&_HLS_part=-1", "BAD_PLAYLIST_REQUEST"),
        # Unicode digits: '²'.isdigit() is true, int('²') raises (was a 500 on both servers)
        ("_HLS_msn=%C2%B2", "BAD_PLAYLIST_REQUEST"),
        ("_HLS_msn=1&_HLS_part=%D9%A3", "BAD_PLAYLIST_REQUEST"),  # ARABIC-INDIC DIGIT THREE
    ],
)
async def test_bad_blocking_requests_are_400(
    server, hls_server, live_stream, http_module, query, code
):
    path, output, _ = live_stream

    def held() -> set[tuple[str, int, int]]:
        return {(n, *key) for n, r in output.live.renditions.items() for key in r.waiting}

    url = server.hls_url(hls_server) + path
    before = held()
    async with http_module.get(f"{url}?{query}") as res:
        assert res.status == 400
        body = await res.json()
    assert body["code"] == code
    # Refused at once, not held: the request left nothing waiting on a part or segment.
    assert held() <= before


async def test_two_segments_ahead_is_held_not_refused(server, hls_server, live_stream, http_module):
    path, output, name = live_stream
    url = server.hls_url(hls_server) + path
    last = output.live.renditions[name].last_segment
    # Part 0 of segment last+2 is at most one segment and a part away: held, then served.
    async with http_module.get(f"{url}?_HLS_msn={last + 2}&_HLS_part=0") as res:
        assert res.status == 200
    assert output.live.renditions[name].last_part >= (last + 2, 0)


async def test_many_held_requests_all_wake_on_one_publish(
    server, hls_server, live_stream, http_module
):
    path, output, name = live_stream
    url = server.hls_url(hls_server) + path
    async with http_module.get(url) as res:
        pl = m3u8.loads(await res.text())
    msn, part = next_part(pl, output.live.parts_per_segment)
    target = f"{url}?_HLS_msn={msn}&_HLS_part={part}"

    async def held() -> str:
        async with http_module.get(target) as res:
            assert res.status == 200
            return await res.text()

    live = output.live
    renders, version = live.renders, live.version
    bodies = await asyncio.gather(*(held() for _ in range(200)))
    assert all(f"part{msn}.{part}.m4s" in b for b in bodies)
    # 200 answers, but at most one rendering per playlist version published meanwhile.
    assert live.renders - renders <= live.version - version + 1 < 200
