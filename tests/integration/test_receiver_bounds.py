"""A real WHIP publisher: aiortc's receiving queues are the bounded ones, and aiortc's decoder
thread really reads and writes them (this fails if the override is bypassed, or if an aiortc
upgrade moves the queues: ``ingest.receiver``)."""

from __future__ import annotations

import asyncio

import pytest

from ingest.receiver import (
    AUDIO_DECODED,
    VIDEO_DECODED,
    BoundedDecodeQueue,
    BoundedTrackQueue,
    bounded_queues,
)
from tests.publisher import publish

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_decoder_thread_uses_the_bounded_queues(server, http, new_stream):
    stream_id, token = await new_stream("Bounded receiver")
    pub = await publish(http, server.base_url, stream_id, token)
    try:
        session = server.broadcasts[stream_id]
        pipeline = session.pipeline
        while pipeline.stats.video_frames_in < 10 or pipeline.stats.audio_frames_in < 10:
            await asyncio.sleep(0.05)
        kinds = set()
        for receiver in session.publisher.pc.getReceivers():
            decode, delivered, thread_args = bounded_queues(receiver)
            assert isinstance(decode, BoundedDecodeQueue)
            assert isinstance(delivered, BoundedTrackQueue)
            # aiortc's decoder_worker(loop, input_q, output_q, decode_error): ours, both.
            assert thread_args[1] is decode and thread_args[2] is delivered
            expected = VIDEO_DECODED if receiver.track.kind == "video" else AUDIO_DECODED
            assert delivered.capacity == expected
            assert delivered.high_water <= expected + 1  # the end-of-track marker at most
            kinds.add(receiver.track.kind)
        assert kinds == {"audio", "video"}
        # Frames carry the receiver's stamps to the pipeline: the first stages are measured.
        stages = pipeline.latency.summary()
        assert stages["decode"]["n"] > 0 and stages["deliver"]["n"] > 0
    finally:
        assert await pub.delete(http, server.base_url) == 200
