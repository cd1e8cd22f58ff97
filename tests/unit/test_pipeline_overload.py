"""A publisher faster than a deliberately slowed encoder: a real encoder thread, held frame by
frame by a hook the test releases, so the order of events decides everything (no clock).

The encoder's backlog never holds more than its bound, the frames encoded are the newest ones,
the live edge stays a bounded number of frames behind the input, and audio stays continuous.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import queue
import threading

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from engine.hooks import FrameContext
from engine.pipeline import StreamPipeline
from engine.shedding import ShedChange, ShedPolicy, encodes, is_boundary
from tests.feed import RUNGS, Collect, FrameTrack

pytestmark = pytest.mark.asyncio(loop_scope="session")


class FedTrack(MediaStreamTrack):
    """Yields exactly what the test puts in, as fast as the pipeline's reader takes it."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.frames: asyncio.Queue[av.VideoFrame | av.AudioFrame | None] = asyncio.Queue()

    async def recv(self) -> av.VideoFrame | av.AudioFrame:
        frame = await self.frames.get()
        if frame is None:
            raise MediaStreamError
        return frame


class SlowEncoder:
    """A frame hook that holds the encoder thread until the test grants it one frame."""

    def __init__(self) -> None:
        # (frame number as fed, output slot) of each frame it holds
        self.entered: queue.Queue[tuple[int, int]] = queue.Queue()
        self.permits = threading.Semaphore(0)

    def on_frame(self, frame: av.VideoFrame, ctx: FrameContext) -> None:
        assert frame.pts is not None  # the publisher's own: the normalizer passed it through
        self.entered.put((frame.pts // 3000, ctx.slot))
        self.permits.acquire()


def video_frame(n: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.full((540, 640), 128, np.uint8), format="yuv420p")
    frame.pts = n * 3000
    frame.time_base = fractions.Fraction(1, 90000)
    return frame


def audio_frame(n: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.zeros((1, 960 * 2), np.int16), format="s16", layout="stereo"
    )
    frame.sample_rate = 48000
    frame.pts = n * 960
    frame.time_base = fractions.Fraction(1, 48000)
    return frame


async def until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0.005)


async def test_backlog_bounded_newest_frames_encoded_audio_continuous():
    collect = Collect()
    slow = SlowEncoder()
    pipeline = StreamPipeline(
        "overload", RUNGS, [collect], hooks=[slow], gap_fill_after=1e9, video_backlog=2
    )
    video, audio = FedTrack("video"), FedTrack("audio")
    pipeline.start()
    pipeline.attach(video)
    pipeline.attach(audio)
    fed_video = fed_audio = 0
    encoded_slots: list[int] = []
    encoded_frames: list[int] = []

    async def feed(frames: int) -> None:
        nonlocal fed_video, fed_audio
        for _ in range(frames):  # 30 fps video, 50 fps audio: 5 audio frames per 3 video
            video.frames.put_nowait(video_frame(fed_video))
            fed_video += 1
            while fed_audio * 3 < fed_video * 5:
                audio.frames.put_nowait(audio_frame(fed_audio))
                fed_audio += 1
        await until(lambda: pipeline.stats.video_frames_in == fed_video)
        await until(lambda: pipeline.stats.audio_frames_in == fed_audio)

    await feed(1)
    n, slot = await asyncio.to_thread(slow.entered.get, timeout=30)
    encoded_frames.append(n)
    encoded_slots.append(slot)
    for _ in range(12):
        # The publisher sends 6 frames while the encoder works on one.
        await feed(6)
        assert len(pipeline.video_in) <= 2 and pipeline.video_in.high_water <= 2
        slow.permits.release()
        n, slot = await asyncio.to_thread(slow.entered.get, timeout=30)
        encoded_frames.append(n)
        encoded_slots.append(slot)
        # The next frame encoded is one of the newest two: the live edge is at most two frames
        # behind the input, however long the encoder took.
        assert fed_video - 1 - n <= 2, (n, fed_video)
        # Its slot is its own, or the part boundary a hole before it crossed (engine.shedding).
        assert slot == n or (slot % RUNGS[0].keyint == 0 and slot < n), (n, slot)
    for _ in range(3):
        slow.permits.release()  # what is left: the newest frame
    video.frames.put_nowait(None)
    audio.frames.put_nowait(None)
    await until(lambda: not pipeline.waiting())
    for _ in range(5):
        slow.permits.release()
    await pipeline.stop()
    assert pipeline.error is None

    stats = pipeline.stats
    assert stats.video_frames_in == fed_video == 73
    assert pipeline.video_in.high_water <= 2
    assert stats.video_frames_dropped == pipeline.video_in.dropped > 40
    assert pipeline.latency.dropped["backlog"] == stats.video_frames_dropped
    assert stats.video_slots_filled == 0  # holes are left, never filled with repeats
    # Encoded: the frames the hook held, in order, in every rung; the output only moves forward.
    for rung in RUNGS:
        slots = [p.pts // p.duration for p in collect.packets if p.rendition == rung.name]
        assert slots[: len(encoded_slots)] == encoded_slots, rung.name
        assert all(a < b for a, b in zip(slots, slots[1:], strict=False)), rung.name
    # Audio: nothing dropped, nothing filled: every sample fed came out, gapless.
    assert stats.audio_frames_dropped == 0 and stats.audio_samples_filled == 0
    aac = [p for p in collect.packets if p.rendition == "audio"]
    assert all(b.pts == a.pts + a.duration for a, b in zip(aac, aac[1:], strict=False))
    assert abs(sum(p.duration for p in aac) - fed_audio * 960) <= 1024


class ForcedStep(ShedPolicy):
    """Goes to ``step`` on its first window and stays there."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.forced = step

    def observe(self, busy: float, elapsed: float) -> ShedChange | None:
        if self.step != self.forced:
            previous, self.step = self.step, self.forced
            return ShedChange(self.forced, previous, busy / elapsed if elapsed else 0.0)
        return None


async def test_a_shedding_step_encodes_what_the_policy_says_in_each_rung(caplog):
    caplog.set_level(logging.INFO, "engine.pipeline")  # the step is a log event too
    collect = Collect()
    pipeline = StreamPipeline(
        "shed", RUNGS, [collect], gap_fill_after=1e9, part_frames=10, shed_policy=ForcedStep(3)
    )
    track = FrameTrack(75)
    pipeline.start()
    pipeline.attach(track)
    await until(lambda: track.n >= track.count)
    await until(lambda: not pipeline.waiting())
    await pipeline.stop()
    assert pipeline.error is None
    assert pipeline.latency.events == ["up:3:lowest-rung-part-rate"]
    # The first window (a second) runs at step 0; from the switch on, each rung's slots are
    # exactly what engine.shedding allows (part boundaries always; RUNGS has 2 rungs, so
    # the lower one is the lowest: boundaries only).
    lowest = [p.pts // p.duration for p in collect.packets if p.rendition == RUNGS[1].name]
    top = [p.pts // p.duration for p in collect.packets if p.rendition == RUNGS[0].name]
    late_lowest = [s for s in lowest if s >= 45]
    assert late_lowest and all(s % 10 == 0 for s in late_lowest)
    late_top = [s for s in top if s >= 45]
    assert late_top and all(
        encodes(3, 0, 2, s, boundary=is_boundary(s, 10, RUNGS[0].keyint)) for s in late_top
    )
    assert pipeline.stats.shed_step == 3
    steps = [r for r in caplog.records if r.getMessage() == "load shedding step"]
    assert [(r.step, r.step_name, r.previous) for r in steps] == [  # type: ignore[attr-defined]  # structured extra fields
        (3, "lowest-rung-part-rate", "full")
    ]
