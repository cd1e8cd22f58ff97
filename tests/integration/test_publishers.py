"""Publishers that misbehave or send unusual media: the broadcast ends cleanly or plays anyway."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from api.streams import store
from tests.hlscheck import (
    ffmpeg_decode,
    ffprobe_json,
    variant_url,
    wait_for_master,
    wait_for_playlist,
)
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def wait_state(server, stream_id: str, state: str, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        row = await store.get_stream(server.pool, uuid.UUID(stream_id))
        if row is not None and row.state == state:
            return time.monotonic() - t0
        await asyncio.sleep(0.2)
    raise AssertionError(f"stream {stream_id} not {state} after {timeout}s")


async def test_publisher_that_stops_sending_is_ended(server, http, new_stream, check_in_again):
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token)
    url = await variant_url(http, server.base_url, stream_id)
    await wait_for_playlist(http, url, segments=1)
    # The publisher goes silent without DELETE (a frozen tab, a dead uplink).
    assert pub.video is not None and pub.audio is not None
    pub.video.paused = pub.audio.paused = True
    timeout = server.settings.publisher_media_timeout
    await wait_state(server, stream_id, "ended", timeout + 10)
    pl = await wait_for_playlist(http, url, ended=True, timeout=5)
    assert pl.is_endlist
    assert stream_id not in server.broadcasts
    await pub.pc.close()
    # The stream can go live again right away (with the performer's check-in for it).
    await check_in_again(stream_id)
    again = await publish(http, server.base_url, stream_id, token)
    assert await again.delete(http, server.base_url) == 200


async def test_publisher_that_closes_without_delete_is_ended(server, http, new_stream):
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token)
    url = await variant_url(http, server.base_url, stream_id)
    await wait_for_playlist(http, url, segments=1)
    await pub.pc.close()  # DTLS close / ICE gone, no WHIP DELETE
    await wait_state(server, stream_id, "ended", server.settings.publisher_media_timeout + 10)
    pl = await wait_for_playlist(http, url, ended=True, timeout=5)
    assert len(pl.segments) >= 1


async def _publish_and_end(server, http, stream_id, token, seconds: float, **kwargs):
    pub = await publish(http, server.base_url, stream_id, token, **kwargs)
    url = await variant_url(http, server.base_url, stream_id)
    await wait_for_playlist(http, url, segments=1, timeout=20)
    await asyncio.sleep(seconds)
    session = server.broadcasts[stream_id]
    stats = session.pipeline.stats
    assert await pub.delete(http, server.base_url) == 200
    pl = await wait_for_playlist(http, url, ended=True, timeout=10)
    return url, pl, stats


async def _assert_plays(url: str, pl, min_seconds: float) -> dict:
    probe = await ffprobe_json("-show_streams", "-show_format", url)
    kinds = {s["codec_type"]: s for s in probe["streams"]}
    assert kinds["video"]["codec_name"] == "h264"
    assert (kinds["video"]["width"], kinds["video"]["height"]) == (1280, 720)
    assert kinds["audio"]["codec_name"] == "aac"
    code, err = await ffmpeg_decode(url)
    assert code == 0 and err == "", err
    assert sum(s.duration for s in pl.segments) >= min_seconds
    return kinds


async def test_audio_only_publisher_gets_black_video(server, http, new_stream):
    stream_id, token = await new_stream()
    url, pl, stats = await _publish_and_end(
        server, http, stream_id, token, 3, video_direction_only=True
    )
    await _assert_plays(url, pl, 3)
    assert stats.video_frames_in == 0
    assert stats.video_slots_filled > 60  # every output frame was filled
    assert stats.audio_frames_in > 100


async def test_video_only_publisher_gets_silent_audio(server, http, new_stream):
    stream_id, token = await new_stream()
    url, pl, stats = await _publish_and_end(server, http, stream_id, token, 3, audio=False)
    await _assert_plays(url, pl, 3)
    assert stats.audio_frames_in == 0
    assert stats.audio_samples_filled > 48000 * 2


async def test_resolution_changes_mid_stream_keep_output_geometry(server, http, new_stream):
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token, size=(1280, 720))
    url = await variant_url(http, server.base_url, stream_id)
    await wait_for_playlist(http, url, segments=1, timeout=20)
    assert pub.video is not None
    stats = server.broadcasts[stream_id].pipeline.stats
    for size in [(640, 360), (480, 640), (960, 540)]:  # bandwidth dip, portrait, recovery
        pub.video.size = size
        # Wait for the engine to receive the new size (on a busy machine this takes longer),
        # then let it run a while at that size.
        deadline = time.monotonic() + 20
        while size not in stats.input_sizes and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
    assert await pub.delete(http, server.base_url) == 200
    pl = await wait_for_playlist(http, url, ended=True, timeout=10)
    seen = set(stats.input_sizes)
    assert {(640, 360), (1280, 720), (480, 640), (960, 540)} <= seen, seen
    assert stats.resolution_changes >= 3
    await _assert_plays(url, pl, 2)  # at least a whole segment; geometry is the point here
    # One output geometry for the whole broadcast, whatever came in.
    frames = await ffprobe_json("-select_streams", "v", "-show_entries", "frame=width,height", url)
    sizes = {(f["width"], f["height"]) for f in frames["frames"]}
    assert sizes == {(1280, 720)}


async def test_rungs_above_the_source_are_skipped(server, http, new_stream):
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token, size=(854, 480))
    master = await wait_for_master(http, server.base_url, stream_id)
    heights = [p.stream_info.resolution[1] for p in master.playlists]
    assert heights == [480, 240]  # no upscaled 720p copy of a 480p source
    url = await variant_url(http, server.base_url, stream_id, height=480)
    await wait_for_playlist(http, url, segments=1, timeout=20)
    assert await pub.delete(http, server.base_url) == 200
