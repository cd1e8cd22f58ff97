"""Recording: an ended broadcast of a recording stream becomes a VOD, until retention ends it."""

from __future__ import annotations

import uuid

import pytest

from api.streams import broadcasts
from tests.hlscheck import fetch, ffmpeg_decode, ffprobe_json, variant_url, wait_for_playlist
from tests.publisher import publish
from workers.retention import purge_expired

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_recorded_broadcast_becomes_a_vod_then_expires(
    server, http, new_stream, check_in_again
):
    sid, token = await new_stream("Recorded", recording=True)
    pub = await publish(http, server.base_url, sid, token)
    live_url = await variant_url(http, server.base_url, sid)
    await wait_for_playlist(http, live_url, segments=3, timeout=30)
    assert await pub.delete(http, server.base_url) == 200
    await wait_for_playlist(http, live_url, ended=True, timeout=10)

    async with http.get(f"{server.base_url}/api/v1/streams/{sid}/vods") as res:
        assert res.status == 200
        vods = (await res.json())["data"]
    assert len(vods) == 1
    vod = vods[0]
    assert vod["durationSeconds"] > 4 and vod["renditions"] == ["720p", "480p", "240p"]
    assert vod["expiresAt"] is not None
    vod_url = server.base_url + vod["playbackUrl"]
    probe = await ffprobe_json("-show_streams", "-show_format", vod_url)
    assert {s["codec_type"] for s in probe["streams"]} == {"video", "audio"}
    rendition_vod = vod_url.replace("vod.m3u8", "720p/vod.m3u8")
    pl = await wait_for_playlist(http, rendition_vod, ended=True, timeout=5)
    # Every segment of the broadcast, from the first (a live playlist would slide).
    assert pl.media_sequence == 1 and pl.segments[0].uri == "seg1.m4s" and len(pl.segments) >= 3
    assert abs(sum(s.duration for s in pl.segments) - vod["durationSeconds"]) < 0.05
    code, err = await ffmpeg_decode(rendition_vod)
    assert code == 0 and err == "", err

    # Going live again keeps the VOD (a new run), and retention deletes it once expired.
    await check_in_again(sid)
    pub2 = await publish(http, server.base_url, sid, token)
    assert await pub2.delete(http, server.base_url) == 200
    status, _ = await fetch(http, rendition_vod)
    assert status == 200
    run = vod["playbackUrl"].split("/")[3]
    await server.pool.execute(
        "UPDATE broadcasts SET vod_expires_at = now() - interval '1 second' "
        "WHERE stream_id = $1 AND run = $2",
        uuid.UUID(sid),
        run,
    )
    assert await purge_expired(server.pool, server.broadcasts.storage) >= 1
    status, _ = await fetch(http, rendition_vod)
    assert status == 404
    remaining = [v.run for v in await broadcasts.list_vods(server.pool, uuid.UUID(sid))]
    assert run not in remaining


async def test_unrecorded_broadcast_is_deleted_when_the_next_one_starts(
    server, http, new_stream, check_in_again
):
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token)
    url = await variant_url(http, server.base_url, stream_id)
    await wait_for_playlist(http, url, segments=1, timeout=20)
    assert await pub.delete(http, server.base_url) == 200
    await wait_for_playlist(http, url, ended=True, timeout=10)
    status, _ = await fetch(http, url)
    assert status == 200  # still there for late viewers until the next broadcast
    async with http.get(f"{server.base_url}/api/v1/streams/{stream_id}/vods") as res:
        assert (await res.json())["data"] == []
    await check_in_again(stream_id)
    pub2 = await publish(http, server.base_url, stream_id, token)
    status, _ = await fetch(http, url)
    assert status == 404
    assert await pub2.delete(http, server.base_url) == 200
