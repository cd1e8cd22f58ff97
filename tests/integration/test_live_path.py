"""The live path in Python: aiortc publisher -> WHIP -> engine ladder -> LL-HLS -> ffprobe."""

from __future__ import annotations

import uuid

import m3u8
import pytest

from api.streams import store
from hls.packager import FIRST_SEQUENCE
from tests.hlscheck import (
    fetch,
    ffmpeg_decode,
    ffprobe_json,
    first_video_packet,
    variant_url,
    wait_for_master,
    wait_for_playlist,
)
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")

TARGET = 2.0
LADDER = {720: (1280, 720), 480: (854, 480), 240: (426, 240)}


def check_low_latency_tags(pl: m3u8.M3U8, others: int) -> None:
    """RFC 8216bis LL-HLS rules for a live media playlist."""
    assert pl.version == 9
    sc = pl.server_control
    assert sc.can_block_reload == "YES"
    part_target = pl.part_inf.part_target
    assert 0 < part_target <= 0.34
    assert sc.part_hold_back >= 3 * part_target
    assert sc.can_skip_until >= 6 * pl.target_duration
    assert pl.preload_hint is not None and pl.preload_hint.hint_type == "PART"
    assert len(pl.rendition_reports) == others
    for r in pl.rendition_reports:
        assert r.last_msn is not None and r.uri.endswith("/index.m3u8")
    assert pl.segments[0].program_date_time is not None
    parts = [p for s in pl.segments for p in s.parts]
    assert parts, "no EXT-X-PART near the live edge"
    for p in parts:
        assert p.duration <= part_target
    # Sequence numbers are consecutive; full segments stay within the target duration.
    full = [s for s in pl.segments if s.uri]
    for s in full:
        assert s.duration <= pl.target_duration
        assert int(s.uri[3:-4]) == pl.media_sequence + full.index(s)


async def test_publish_reads_back_as_conformant_ll_hls(server, http, new_stream):
    stream_id, token = await new_stream("Integration")
    pub = await publish(http, server.base_url, stream_id, token)

    master = await wait_for_master(http, server.base_url, stream_id)
    by_height = {p.stream_info.resolution[1]: p for p in master.playlists}
    assert sorted(by_height) == [240, 480, 720]
    for height, p in by_height.items():
        info = p.stream_info
        assert info.resolution == LADDER[height]
        assert info.bandwidth >= info.average_bandwidth > 0
        assert info.codecs.startswith("avc1.") and info.codecs.endswith(",mp4a.40.2")
        assert info.frame_rate == 30
    urls = {h: await variant_url(http, server.base_url, stream_id, h) for h in LADDER}

    live = await wait_for_playlist(http, urls[720], segments=2)
    assert not live.is_endlist
    check_low_latency_tags(live, others=2)
    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state == "live"

    # Every part marked INDEPENDENT really starts with a keyframe (parts exist only while live).
    init_url = live.segment_map[0].absolute_uri
    independent = [p for s in live.segments for p in s.parts if p.independent == "YES"]
    assert independent
    for part in independent:
        packet = await first_video_packet(http, init_url, part.absolute_uri)
        assert "K" in packet["flags"], (part.uri, packet)

    # A poster for stream cards: a 640x360 JPEG, refreshed while live, briefly cacheable.
    poster_url = f"{server.base_url}/hls/{stream_id}/poster.jpg"
    async with http.get(poster_url) as res:
        assert res.status == 200
        assert res.headers["Content-Type"] == "image/jpeg"
        assert "max-age=5" in res.headers["Cache-Control"]
        assert (await res.read())[:2] == b"\xff\xd8"
    probe = await ffprobe_json("-show_streams", poster_url)
    assert (probe["streams"][0]["width"], probe["streams"][0]["height"]) == (640, 360)

    # A delta update (_HLS_skip=YES) once the playlist is longer than CAN-SKIP-UNTIL (six
    # target durations, 12 s) plus a segment: EXT-X-SKIP stands for the oldest segments, and
    # the first one listed follows them.
    full = await wait_for_playlist(http, urls[720], segments=7, timeout=60)
    status, body = await fetch(http, urls[720] + "?_HLS_skip=YES")
    assert status == 200
    text = body.decode()
    skip_lines = [line for line in text.splitlines() if line.startswith("#EXT-X-SKIP:")]
    assert len(skip_lines) == 1, text
    skipped = int(skip_lines[0].split("SKIPPED-SEGMENTS=")[1])
    delta = m3u8.loads(text)
    assert delta.media_sequence >= full.media_sequence
    listed = [seg for seg in delta.segments if seg.uri]
    assert skipped >= 1 and int(listed[0].uri[3:-4]) == delta.media_sequence + skipped
    # What is left covers at least the skip horizon the server announced.
    assert sum(seg.duration for seg in listed) >= full.server_control.can_skip_until - 0.01
    assert "#EXT-X-SKIP" not in (await fetch(http, urls[720]))[1].decode()

    assert await pub.delete(http, server.base_url) == 200
    ended = {h: await wait_for_playlist(http, urls[h], segments=3, ended=True) for h in LADDER}

    # Each rendition, read by ffprobe over HTTP: codecs and geometry.
    for height, url in urls.items():
        probe = await ffprobe_json("-show_streams", url)
        codecs = {s["codec_type"]: s for s in probe["streams"]}
        assert codecs["video"]["codec_name"] == "h264"
        assert (codecs["video"]["width"], codecs["video"]["height"]) == LADDER[height]
        assert codecs["audio"]["codec_name"] == "aac"
        assert int(codecs["audio"]["sample_rate"]) == 48000
    probe = await ffprobe_json("-show_streams", f"{server.base_url}/hls/{stream_id}/index.m3u8")
    widths = sorted(s["width"] for s in probe["streams"] if s["codec_type"] == "video")
    assert widths == [426, 854, 1280]

    starts: dict[int, list[float]] = {}
    for height, pl in ended.items():
        # Segment durations within 10% of the target, except the last, cut short by DELETE.
        durations = [s.duration for s in pl.segments]
        for d in durations[:-1]:
            assert abs(d - TARGET) <= 0.1 * TARGET, durations
        assert 0 < durations[-1] <= TARGET * 1.1
        assert pl.target_duration == 2
        # Every segment, read on its own, starts on a keyframe at its listed start time.
        # (The window may have slid: start from the first listed segment's own time.)
        init = pl.segment_map[0].absolute_uri
        start: float | None = None
        starts[height] = []
        for seg in pl.segments:
            packet = await first_video_packet(http, init, seg.absolute_uri)
            assert "K" in packet["flags"], (seg.uri, packet)
            pts = float(packet["pts_time"])
            if start is None:
                start = pts
                expected = (pl.media_sequence - FIRST_SEQUENCE) * TARGET
                assert abs(start - expected) < 0.02, (seg.uri, pts)
            assert abs(pts - start) < 0.02, (seg.uri, pts, start)
            starts[height].append(round(pts, 3))
            start += seg.duration
        # ffmpeg reads it to the end without a single error.
        code, err = await ffmpeg_decode(pl.base_uri + "index.m3u8")
        assert code == 0 and err == "", err
    # Keyframes are aligned across the ladder: the same segment starts at the same time.
    common = min(len(v) for v in starts.values())
    assert starts[720][:common] == starts[480][:common] == starts[240][:common]

    row = await store.get_stream(server.pool, uuid.UUID(stream_id))
    assert row is not None and row.state == "ended"
    assert stream_id not in server.broadcasts
