"""PacketFanout: GOP replay on join, slow subscribers drop until a keyframe, end of stream."""

from __future__ import annotations

import asyncio

import pytest

from engine.encoder import EncodedPacket, VideoSettings
from engine.fanout import OPUS, PacketFanout, SubscriptionClosed
from engine.pipeline import StreamInfo

pytestmark = pytest.mark.asyncio(loop_scope="session")

INFO = StreamInfo(
    renditions=[VideoSettings(), VideoSettings("480p", 854, 480, bitrate=1_200_000)],
    fps=30,
    audio_sample_rate=48_000,
    audio_channels=2,
    audio_specific_config=b"",
)


def video(n: int, *, key: bool = False, rendition: str = "720p") -> EncodedPacket:
    return EncodedPacket("video", rendition, bytes([n % 256]) * 10, n * 3000, n * 3000, 3000,
                         90_000, key)  # fmt: skip


def audio(n: int, rendition: str = OPUS) -> EncodedPacket:
    return EncodedPacket("audio", rendition, b"o", n * 960, n * 960, 960, 48_000, True)


async def started(**kwargs) -> PacketFanout:
    fanout = PacketFanout("s", loop=asyncio.get_running_loop(), replay_interval=0.0, **kwargs)
    fanout.on_start(INFO)  # as from the encoder thread: handed to the loop
    await asyncio.sleep(0)
    assert fanout.started.is_set() and fanout.renditions == ["720p", "480p"]
    return fanout


async def push(fanout: PacketFanout, *packets: EncodedPacket) -> None:
    for p in packets:
        fanout.on_packet(p)
    await asyncio.sleep(0)


async def drain(sub, n: int) -> list[EncodedPacket]:
    return [await asyncio.wait_for(sub.get(), 1) for _ in range(n)]


async def test_a_joiner_gets_the_gop_from_its_keyframe_restamped_then_live():
    fanout = await started()
    await push(fanout, video(0, key=True), video(1), video(2, key=True), video(3), video(4))
    sub = fanout.subscribe("720p")
    replay = await drain(sub, 3)
    assert [p.data[0] for p in replay] == [2, 3, 4]
    assert replay[0].keyframe
    # Re-stamped close together, ending at the last one's own time (replay_interval 0 -> 1 tick).
    assert [p.pts for p in replay] == [4 * 3000 - 2, 4 * 3000 - 1, 4 * 3000]
    await push(fanout, video(5))
    assert (await drain(sub, 1))[0].pts == 5 * 3000
    assert sub.replayed == 3


async def test_renditions_and_audio_are_separate_and_aac_is_not_handed_over():
    fanout = await started()
    low, opus = fanout.subscribe("480p"), fanout.subscribe(OPUS)
    await push(fanout, video(0, key=True), video(0, key=True, rendition="480p"))
    await push(fanout, audio(0, "audio"), audio(0))  # AAC, then Opus
    assert (await drain(low, 1))[0].rendition == "480p"
    got = await drain(opus, 1)
    assert got[0].rendition == OPUS and opus._queue.empty()
    with pytest.raises(KeyError):
        fanout.subscribe("1080p")


async def test_a_slow_subscriber_drops_until_the_next_keyframe():
    fanout = await started(max_gop_packets=4, queue_packets=5)
    sub = fanout.subscribe("720p")
    await push(fanout, video(0, key=True), *(video(n) for n in range(1, 8)))
    assert sub.dropped == 3  # queue of 5 full: 5, 6, 7 dropped
    await push(fanout, video(8), video(9, key=True), video(10))
    got = await drain(sub, 2)
    # The stale backlog was discarded at the keyframe: decoding resumes cleanly there.
    assert [p.data[0] for p in got] == [9, 10] and got[0].keyframe
    assert sub.dropped == 4


async def test_an_overlong_gop_is_not_cached():
    fanout = await started(max_gop_packets=3, queue_packets=5)
    await push(fanout, video(0, key=True), video(1), video(2), video(3))
    sub = fanout.subscribe("720p")
    assert sub.replayed == 0 and sub._queue.empty()
    await push(fanout, video(4), video(5, key=True))
    assert (await drain(sub, 1))[0].data[0] == 5


async def test_end_closes_subscriptions_and_close_unsubscribes():
    fanout = await started()
    a, b = fanout.subscribe("720p"), fanout.subscribe(OPUS)
    b.close()
    assert fanout.subscribers() == 1
    with pytest.raises(SubscriptionClosed):
        await b.get()
    await push(fanout, video(0, key=True))
    fanout.on_end()
    await fanout.drain()
    assert fanout.ended and fanout.subscribers() == 0
    assert (await drain(a, 1))[0].keyframe  # what was queued is still handed out
    for _ in range(2):
        with pytest.raises(SubscriptionClosed):
            await a.get()
    late = fanout.subscribe("720p")
    with pytest.raises(SubscriptionClosed):
        await late.get()
