"""No blocking call from our code runs on the event loop while a broadcast is live (blockbuster)."""

from __future__ import annotations

import asyncio

import pytest
from blockbuster import blockbuster_ctx

from tests.hlscheck import variant_url, wait_for_playlist
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

OUR_CODE = ["engine", "ingest", "hls", "api", "teezu"]


async def test_broadcast_makes_no_blocking_calls_on_the_loop(server, http, new_stream):
    stream_id, token = await new_stream()
    # Only calls made from our packages count: the encoder thread may block, the loop may not.
    with blockbuster_ctx(OUR_CODE):
        pub = await publish(http, server.base_url, stream_id, token)
        url = await variant_url(http, server.base_url, stream_id)
        await wait_for_playlist(http, url, segments=2, timeout=30)
        async with http.get(url) as res:  # the origin path, playlist and a segment
            assert res.status == 200
        pl = await wait_for_playlist(http, url, segments=1)
        async with http.get(pl.segments[0].absolute_uri) as res:
            assert res.status == 200
        # The LL-HLS edge's path: master, a blocking reload and its part, from memory.
        edge_url = await variant_url(http, server.edge_url, stream_id)
        live = await wait_for_playlist(http, edge_url, segments=1)
        msn = live.media_sequence + len(live.segments)
        async with http.get(f"{edge_url}?_HLS_msn={msn}&_HLS_part=0") as res:
            assert res.status == 200
        async with http.get(edge_url.rsplit("/", 1)[0] + f"/part{msn}.0.m4s") as res:
            assert res.status == 200
        async with http.get(f"{server.base_url}/api/v1/streams/{stream_id}") as res:
            assert (await res.json())["data"]["state"] == "live"
        assert await pub.delete(http, server.base_url) == 200
        await wait_for_playlist(http, url, ended=True, timeout=10)
        await asyncio.sleep(0)
    session_errors = [s for s in server.broadcasts.values() if s.pipeline.error is not None]
    assert not session_errors
