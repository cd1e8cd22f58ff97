"""When a broadcast starts: the ladder is chosen once, from the first picture, so a publisher
whose first picture comes late (a keyframe decoded behind its audio on a loaded node) must still
get every rung, not be taken for an audio-only publisher."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import AudioStreamTrack

from engine.pipeline import StreamPipeline
from tests.feed import RUNGS, Collect, FrameTrack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_picture_later_than_the_gap_fill_still_gets_the_whole_ladder():
    collect = Collect()
    pipeline = StreamPipeline("late-video", RUNGS, [collect], gap_fill_after=0.5)
    audio = AudioStreamTrack()  # real-time paced silence, 20 ms frames
    pipeline.start()
    pipeline.attach(audio)
    # Audio alone for three gap-fill periods (the old rule started audio-only after one).
    while pipeline.stats.audio_frames_in < 75:
        await asyncio.sleep(0.02)
    assert collect.info is None, "started as audio-only before the picture's grace ran out"
    video = FrameTrack(30)
    pipeline.attach(video)
    while collect.info is None:
        await asyncio.sleep(0.02)
    assert [r.name for r in collect.info.renditions] == [r.name for r in RUNGS]
    audio.stop()
    await pipeline.stop()
    assert pipeline.error is None
