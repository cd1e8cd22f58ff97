"""The first live path in Python: aiortc publisher -> WHIP -> engine -> HLS -> ffprobe."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.streams import store
from tests.hlscheck import ffmpeg_decode, ffprobe_json, first_video_packet, wait_for_playlist
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

TARGET = 2.0


async def test_publish_reads_back_as_conformant_hls(server, http, new_stream):
    stream_id, token = await new_stream("Integration")
    pub = await publish(http, server.base_url, stream_id, token)
    playlist_url = f"{server.base_url}/hls/{stream_id}/index.m3u8"
    live = await wait_for_playlist(http, playlist_url, segments=2)
    assert not live.is_endlist
    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state == "live"

    await asyncio.sleep(3)
    assert await pub.delete(http, server.base_url) == 200
    pl = await wait_for_playlist(http, playlist_url, segments=3, ended=True)

    # Codecs and geometry, read by ffprobe over HTTP through the playlist.
    probe = await ffprobe_json("-show_streams", playlist_url)
    codecs = {s["codec_type"]: s for s in probe["streams"]}
    assert codecs["video"]["codec_name"] == "h264"
    assert (codecs["video"]["width"], codecs["video"]["height"]) == (1280, 720)
    assert codecs["audio"]["codec_name"] == "aac"
    assert int(codecs["audio"]["sample_rate"]) == 48000

    # Segment durations within 10% of the target, except the last, cut short by the DELETE.
    durations = [s.duration for s in pl.segments]
    for d in durations[:-1]:
        assert abs(d - TARGET) <= 0.1 * TARGET, durations
    assert 0 < durations[-1] <= TARGET * 1.1
    assert pl.target_duration == 2
    assert [s.uri for s in pl.segments] == sorted(
        (s.uri for s in pl.segments), key=lambda u: int(u.rsplit("seg", 1)[1].split(".")[0])
    )

    # Every segment, read on its own, starts on a keyframe at its listed start time.
    # (The window may have slid: start from the first listed segment's own time.)
    init_url = pl.segment_map[0].absolute_uri
    start: float | None = None
    for seg in pl.segments:
        packet = await first_video_packet(http, init_url, seg.absolute_uri)
        assert "K" in packet["flags"], (seg.uri, packet)
        pts = float(packet["pts_time"])
        if start is None:
            start = pts
            assert abs(start - pl.media_sequence * TARGET) < 0.02, (seg.uri, pts)
        assert abs(pts - start) < 0.02, (seg.uri, pts, start)
        start += seg.duration

    # ffmpeg reads it to the end without a single error.
    code, err = await ffmpeg_decode(playlist_url)
    assert code == 0 and err == "", err

    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state == "ended"
    assert stream_id not in server.publishers.by_stream
