"""Freeze (the safe word's mechanism): after ``pipeline.freeze()`` returns, no live frame is
encoded: every HLS rendition and the WebRTC packets show the slate until ``unfreeze()``."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math

import aiohttp
import av
import pytest

from engine.encoder import EncodedPacket
from engine.fanout import Subscription, SubscriptionClosed
from engine.hooks import plane_view
from engine.slate import slate_distance
from tests.hlscheck import fetch, variant_url, wait_for_playlist
from tests.publisher import publish
from tests.viewer import watch

pytestmark = pytest.mark.asyncio(loop_scope="session")

SLATE = 10.0  # a decoded slate is within this many luma levels of the original (measured ~1-3)
LIVE = 30.0  # the test pattern is further than this from the slate (measured ~80; black: 26)


def distance(frame: av.VideoFrame) -> float:
    return slate_distance(plane_view(frame.reformat(format="yuv420p"), 0).copy())


def decode_hls(init: bytes, segments: list[bytes]) -> list[tuple[float, float]]:
    """(stream time, slate distance) of every frame of the segments, decoded as a player does."""
    out = []
    with av.open(io.BytesIO(init + b"".join(segments))) as container:
        for frame in container.decode(video=0):
            out.append((float(frame.time or 0.0), distance(frame)))
    return out


def decode_packets(packets: list[EncodedPacket]) -> list[tuple[float, float]]:
    """(packet time, slate distance) of the WebRTC packets, decoded in order."""
    ctx = av.CodecContext.create("h264", "r")
    frames: list[av.VideoFrame] = []
    for p in packets:
        frames.extend(ctx.decode(av.Packet(p.data)))
    frames.extend(ctx.decode(None))
    assert len(frames) == len(packets), (len(frames), len(packets))
    return [(p.time, distance(f)) for p, f in zip(packets, frames, strict=True)]


async def rendition_frames(http: aiohttp.ClientSession, url: str, until: float):
    segments_needed = math.floor(until / 2.0) + 1
    pl = await wait_for_playlist(http, url, segments=segments_needed, timeout=40)
    _, init = await fetch(http, pl.segments[0].init_section.absolute_uri)
    data = []
    for seg in [s for s in pl.segments if s.uri]:
        status, body = await fetch(http, seg.absolute_uri)
        assert status == 200, seg.absolute_uri
        data.append(body)
    return await asyncio.to_thread(decode_hls, init, data)


async def collect(sub: Subscription, into: list[EncodedPacket]) -> None:
    with contextlib.suppress(SubscriptionClosed):
        while True:
            into.append(await sub.get())


def check(frames, frozen_at: float, resumed_at: float, what: str) -> dict[str, int]:
    """Live before the freeze, slate from it, live again after the unfreeze.

    Slots encoded after ``unfreeze()`` but before the next live frame arrives (a publisher
    lagging on a busy machine) repeat the last picture, the slate: after the unfreeze the
    slate may go on only until the first live frame, and never comes back.
    """
    counts = {"live before": 0, "slate": 0, "live after": 0}
    live_again = False
    for t, d in frames:
        if t < frozen_at - 1e-6:
            # Live (or the black a stream starts with before its first frame): not the slate.
            assert d > SLATE, f"{what}: slate at {t:.3f} s, before the freeze"
            counts["live before"] += d > LIVE
        elif t < resumed_at - 1e-6 or (not live_again and d < SLATE):
            assert d < SLATE, f"{what}: live picture at {t:.3f} s, after the freeze ({d:.1f})"
            counts["slate"] += 1
        else:
            live_again = True
            assert d > SLATE, f"{what}: slate at {t:.3f} s, after live frames resumed"
            counts["live after"] += d > LIVE
    assert all(counts.values()), f"{what}: {counts}"
    return counts


async def test_freeze_shows_the_slate_everywhere_until_unfreeze(server, http, new_stream):
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token)
    try:
        urls = {h: await variant_url(http, server.base_url, stream_id, h) for h in (720, 480, 240)}
        await wait_for_playlist(http, urls[720], segments=1)
        pipeline = server.broadcasts[stream_id].pipeline
        output = server.broadcasts[stream_id].hls
        fanout = server.broadcasts[stream_id].fanout
        packets: list[EncodedPacket] = []
        sub = fanout.subscribe("720p")  # exactly what a WHEP viewer of 720p is sent
        collector = asyncio.get_running_loop().create_task(collect(sub, packets))
        await asyncio.sleep(1.0)

        result = await pipeline.freeze("test: safe word")
        assert result.time is not None and result.slot is not None and not result.already_frozen
        assert pipeline.frozen_reason == "test: safe word"
        first_slate_part = await output.part_published(result.time)
        applied_ms = 1000 * (result.applied_at - result.requested_at)
        part_ms = 1000 * (first_slate_part - result.requested_at)
        print(
            f"\nfreeze: applied by the encoder thread {applied_ms:.1f} ms after the call; the "
            f"first slate part published in every rendition {part_ms:.0f} ms after it"
        )
        # Evidence: the last live picture, as a full-size JPEG (not the slate).
        assert result.snapshot is not None and result.snapshot[:2] == b"\xff\xd8"
        evidence = av.open(io.BytesIO(result.snapshot)).decode(video=0).__next__()
        assert (evidence.width, evidence.height) == (1280, 720)
        assert distance(evidence) > LIVE
        again = await pipeline.freeze("second trigger")
        assert again.already_frozen and pipeline.frozen_reason == "test: safe word"

        # A WebRTC viewer joining now starts from the slate keyframe: not one live frame.
        late: list[float] = []
        viewer = await watch(
            http,
            server.base_url,
            stream_id,
            audio=False,
            on_video=lambda f: late.append(distance(f)),
        )
        try:
            await viewer.wait_frames(video=20)
        finally:
            await viewer.delete(http, server.base_url)
        assert late and max(late) < SLATE, f"late WHEP viewer saw live pictures: {max(late):.1f}"

        await output.part_published(result.time + 2.5)
        resumed = await pipeline.unfreeze()
        assert resumed is not None and resumed > result.time and pipeline.frozen_reason is None
        await output.part_published(resumed + 1.0)
        sub.close()
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector

        counts = check(
            await asyncio.to_thread(decode_packets, packets), result.time, resumed, "WHEP"
        )
        print(f"WHEP 720p packets decoded: {counts}")
        for height, url in urls.items():
            frames = await rendition_frames(http, url, resumed + 1.0)
            counts = check(frames, result.time, resumed, f"HLS {height}p")
            print(f"HLS {height}p frames decoded: {counts}")
        assert pipeline.stats.slate_slots > 0
        # The poster turned to the slate at the freeze; it is a JPEG of the slate size.
        status, poster = await fetch(http, f"{server.base_url}/hls/{stream_id}/poster.jpg")
        assert status == 200 and poster[:2] == b"\xff\xd8"
    finally:
        await pub.delete(http, server.base_url)


async def test_freeze_before_the_first_frame_starts_on_the_slate(server, http, new_stream):
    """A stream frozen before any video arrives never shows a live frame at all."""
    stream_id, token = await new_stream()
    pub = await publish(http, server.base_url, stream_id, token)
    try:
        pipeline = server.broadcasts[stream_id].pipeline
        result = await pipeline.freeze("frozen at once")
        url = await variant_url(http, server.base_url, stream_id, 720)
        pl = await wait_for_playlist(http, url, segments=2)
        _, init = await fetch(http, pl.segments[0].init_section.absolute_uri)
        segs = [(await fetch(http, s.absolute_uri))[1] for s in pl.segments if s.uri]
        frames = await asyncio.to_thread(decode_hls, init, segs)
        # Frozen before the first video frame, the thread had no slot to report: then every
        # frame is the slate; if video won the race, every frame from the reported slot is.
        frozen_at = result.time if result.time is not None else 0.0
        after = [d for t, d in frames if t >= frozen_at - 1e-6]
        assert len(after) >= 30 and max(after) < SLATE
    finally:
        await pub.delete(http, server.base_url)
