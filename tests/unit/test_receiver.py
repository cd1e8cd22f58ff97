"""The bounds put on aiortc's receiving queues (``ingest.receiver``), one queue at a time."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import av
import pytest
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from engine.latency import ReceiveStamps, StageLatency
from ingest.errors import ReceiverInternalsChanged
from ingest.receiver import (
    BoundedDecodeQueue,
    BoundedTrackQueue,
    bound_receiver,
    is_keyframe,
)

H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, payloadType=111, channels=2)
IDR = b"\x00\x00\x00\x01\x67\x42\x00\x1f" + b"\x00\x00\x00\x01\x68\xce" + b"\x00\x00\x01\x65\x88"
DELTA = b"\x00\x00\x00\x01\x41\x9a\x00"


def test_keyframes_are_recognised_per_codec():
    assert is_keyframe("H264", IDR)
    assert not is_keyframe("H264", DELTA)
    assert is_keyframe("VP8", bytes([0x10, 0x02, 0x00]))  # frame tag bit 0 clear
    assert not is_keyframe("VP8", bytes([0x11, 0x02, 0x00]))
    assert is_keyframe("VP9", b"\x01")  # unknown: never held back


def test_video_overflow_resumes_at_the_newest_keyframe():
    q = BoundedDecodeQueue("video", 4)
    q.put((H264, JitterFrame(IDR, 0)))
    q.get()  # the decoder runs
    for ts, data in enumerate([DELTA, DELTA, IDR, DELTA], start=1):
        q.put((H264, JitterFrame(data, ts)))
    q.put((H264, JitterFrame(DELTA, 5)))  # over the bound: the frames before the IDR go
    assert [q.get()[1].timestamp for _ in range(q.qsize())] == [3, 4, 5]
    assert q.dropped == 2 and not q.awaiting_keyframe


def test_video_overflow_without_a_keyframe_drops_all_and_asks_for_one():
    asked = threading.Event()
    latency = StageLatency()
    q = BoundedDecodeQueue("video", 3, ask_keyframe=asked.set, latency=latency)
    q.put((H264, JitterFrame(IDR, 0)))
    q.get()
    for ts in range(1, 4):
        q.put((H264, JitterFrame(DELTA, ts)))
    assert q.qsize() == 3 and not asked.is_set()
    q.put((H264, JitterFrame(DELTA, 4)))  # the decoder is behind: all of it is stale now
    assert q.qsize() == 0 and asked.is_set() and q.awaiting_keyframe
    q.put((H264, JitterFrame(DELTA, 5)))  # undecodable without its references: dropped
    assert q.qsize() == 0
    q.put((H264, JitterFrame(IDR, 6)))
    q.put(None)  # aiortc's stop sentinel always fits
    codec, frame = q.get()
    assert codec is H264 and frame.timestamp == 6 and q.last_taken_at is not None
    assert q.get() is None
    assert q.high_water <= 3 + 1  # the bound, plus the stop sentinel at most
    assert q.dropped == 5 and latency.dropped["receive"] == 5


def test_video_is_bounded_by_age_once_the_decoder_runs():
    now = [0.0]
    q = BoundedDecodeQueue("video", 30, max_age=0.25, clock=lambda: now[0])
    for ts in range(10):  # the decoder thread has not started yet: only the count applies
        now[0] = ts * 0.1
        q.put((VP8, JitterFrame(bytes([0x10 if ts == 0 else 0x11]), ts)))
    assert q.qsize() == 10 and q.dropped == 0
    q.get()  # it starts: frames 1.. have waited up to 0.8 s, all deltas
    now[0] = 1.0
    q.put((VP8, JitterFrame(bytes([0x10]), 10)))  # a keyframe: resume there
    assert [q.get()[1].timestamp for _ in range(q.qsize())] == [10]
    for ts in range(11, 14):  # fresh frames, even in a burst, wait
        q.put((VP8, JitterFrame(bytes([0x11]), ts)))
    assert q.qsize() == 3


def test_audio_overflow_drops_the_oldest():
    q = BoundedDecodeQueue("audio", 10)
    for ts in range(25):
        q.put((OPUS, JitterFrame(b"\xfc", ts)))
        assert q.qsize() <= 10
    assert [q.get()[1].timestamp for _ in range(10)] == list(range(15, 25))
    assert q.dropped == 15


@pytest.mark.asyncio(loop_scope="session")
async def test_decoded_frames_keep_the_newest_and_carry_their_stamps():
    source = BoundedDecodeQueue("video", 3)
    source.put((VP8, JitterFrame(bytes([0x10]), 0)))
    source.get()
    latency = StageLatency()
    q = BoundedTrackQueue("video", 2, source, latency)
    frames = [av.VideoFrame(16, 16, "yuv420p") for _ in range(5)]
    for f in frames:
        await q.put(f)  # as aiortc's decoder thread does, through the loop
        assert q.qsize() <= 2
    await q.put(None)  # end of track: always kept
    got = [q.get_nowait() for _ in range(3)]
    assert got == [frames[3], frames[4], None]
    assert isinstance(frames[4].opaque, ReceiveStamps)
    assert frames[4].opaque.assembled_at == source.last_taken_at
    assert q.dropped == 3 and latency.dropped["deliver"] == 3


@dataclass
class _Track:
    kind: str = "video"
    _queue: object = None


class _NotAiortc:
    """A receiver without aiortc's private queues (as after an upgrade that renamed them)."""

    track = _Track(_queue=asyncio.Queue())


@pytest.mark.asyncio(loop_scope="session")
async def test_bound_receiver_refuses_what_it_cannot_bound():
    with pytest.raises(ReceiverInternalsChanged):
        bound_receiver(_NotAiortc())  # type: ignore[arg-type]  # deliberately not a receiver
