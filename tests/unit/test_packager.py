"""Packager: keyframe-aligned segments, audio by decode time, no segment before its audio."""

from __future__ import annotations

import av
import numpy as np
import pytest

from engine.encoder import AudioEncoder, EncodedPacket, VideoEncoder, VideoSettings
from hls.fmp4 import AudioTrack, iter_boxes
from hls.packager import AUDIO_TRACK_ID, InitSegment, Packager, Part, Segment


@pytest.fixture(scope="module")
def packets() -> tuple[list[EncodedPacket], list[EncodedPacket], AudioTrack]:
    """5 s of real x264 (forced keyframe every 60 frames) and AAC packets."""
    video = VideoEncoder(VideoSettings(width=320, height=180, fps=30, keyint=60))
    vpk: list[EncodedPacket] = []
    for i in range(150):
        planes = np.full((270, 320), 128, dtype=np.uint8)
        planes[:180] = (np.arange(320) + i * 5) % 256
        vpk += video.encode(av.VideoFrame.from_ndarray(planes, format="yuv420p"), i)
    vpk += video.flush()
    audio = AudioEncoder()
    apk = audio.silence(48000 * 5) + audio.flush()
    track = AudioTrack(AUDIO_TRACK_ID, 48000, 2, audio.audio_specific_config)
    return vpk, apk, track


def _new(track: AudioTrack | None, part: float | None = None) -> Packager:
    return Packager(
        width=320, height=180, fps=30, segment_duration=2.0, part_duration=part, audio=track
    )


def _interleaved(pk: Packager, vpk, apk) -> list:
    """Feed as the encoder thread does: audio a little behind video."""
    events: list = []
    a = 0
    for v in vpk:
        events += pk.push(v)
        while a < len(apk) and apk[a].time < v.time - 0.05:
            events += pk.push(apk[a])
            a += 1
    for rest in apk[a:]:
        events += pk.push(rest)
    return events + pk.flush()


def test_parts_are_whole_frames_and_segments_are_their_parts(packets):
    vpk, apk, track = packets
    events = _interleaved(_new(track, part=1 / 3), vpk, apk)
    parts = [e for e in events if isinstance(e, Part)]
    segs = [e for e in events if isinstance(e, Segment)]
    assert [s.part_count for s in segs] == [6, 6, 3]
    assert [(p.sequence, p.index) for p in parts[:7]] == [(1, i) for i in range(6)] + [(2, 0)]
    for p in parts:
        assert abs(p.duration - 1 / 3) < 1e-6  # exactly 10 frames at 30 fps
        assert p.independent == (p.index == 0)  # keyframes only at segment starts
    for s in segs:
        mine = [p for p in parts if p.sequence == s.sequence]
        assert s.data == b"".join(p.data for p in mine)
        assert abs(s.duration - sum(p.duration for p in mine)) < 1e-9
    # Every part is one fragment, numbered in stream order (mfhd sequence numbers).
    seqnums = []
    for p in parts:
        boxes = list(iter_boxes(p.data))
        assert [b.type for b in boxes] == ["moof", "mdat"]
        seqnums.append(int.from_bytes(p.data[boxes[0].offset + 20 : boxes[0].offset + 24], "big"))
    assert seqnums == list(range(1, len(parts) + 1))


def test_keyframes_are_forced_on_segment_boundaries(packets):
    vpk, _, _ = packets
    keys = [p.pts / p.timescale for p in vpk if p.keyframe]
    assert keys == [0.0, 2.0, 4.0]


def test_segments_cut_on_keyframes_with_audio_inside(packets):
    vpk, apk, track = packets
    events = _interleaved(_new(track), vpk, apk)
    assert isinstance(events[0], InitSegment)
    assert events[0].codecs.startswith("avc1.") and events[0].codecs.endswith(",mp4a.40.2")
    segs = [e for e in events if isinstance(e, Segment)]
    assert [s.sequence for s in segs] == [1, 2, 3]  # FIRST_SEQUENCE = 1
    assert [round(s.start, 3) for s in segs] == [0.0, 2.0, 4.0]
    assert [round(s.duration, 3) for s in segs] == [2.0, 2.0, 1.0]
    assert all(s.independent for s in segs)
    for s in segs:
        assert [b.type for b in iter_boxes(s.data)] == ["moof", "mdat"]


def test_segment_waits_for_its_audio(packets):
    vpk, apk, track = packets
    pk = _new(track)
    out = []
    for v in vpk[:61]:  # through the keyframe at 2.0 s
        out += pk.push(v)
    assert not [e for e in out if isinstance(e, Segment)]  # no audio yet: segment 0 held
    early = [a for a in apk if a.time < 1.9]
    for a in early:
        out += pk.push(a)
    assert not [e for e in out if isinstance(e, Segment)]  # audio not yet at 2.0 s
    late = next(a for a in apk if a.time >= 2.0)
    for a in apk[len(early) : apk.index(late) + 1]:
        out += pk.push(a)
    segs = [e for e in out if isinstance(e, Segment)]
    assert len(segs) == 1 and segs[0].sequence == 1


def test_video_before_first_keyframe_is_dropped(packets):
    vpk, _, _ = packets
    pk = _new(None)
    assert pk.push(vpk[1]) == []  # not a keyframe, nothing decodable yet
    assert pk.init is None
    events = pk.push(vpk[0])
    assert isinstance(events[0], InitSegment)


def test_video_only_packaging_needs_no_audio(packets):
    vpk, _, _ = packets
    pk = _new(None)
    events = [e for v in vpk for e in pk.push(v)] + pk.flush()
    segs = [e for e in events if isinstance(e, Segment)]
    assert [s.sequence for s in segs] == [1, 2, 3]  # FIRST_SEQUENCE = 1


@pytest.mark.parametrize("step", [1, 2, 3])
def test_shed_frames_leave_parts_within_their_target(step):
    """The lowest rung of a 3-rung ladder at each shedding step (engine.shedding), plus holes
    where the encoder took no frame: parts stay whole (never longer than the part target),
    segments stay on the keyframe grid, and the samples' durations cover the time exactly."""
    from engine.shedding import boundary_between, encodes, is_boundary

    video = VideoEncoder(VideoSettings(width=320, height=180, fps=30, keyint=60))
    vpk: list[EncodedPacket] = []
    next_free = 0
    for i in range(150):
        if i % 7 in (3, 4):  # the backlog kept only newer frames: nothing for these slots
            continue
        slot = i
        if slot > next_free:
            slot = boundary_between(next_free, i, 10, 60) or i
        next_free = slot + 1
        if not encodes(step, 2, 3, slot, boundary=is_boundary(slot, 10, 60)):
            continue
        planes = np.full((270, 320), 128, dtype=np.uint8)
        planes[:180] = (np.arange(320) + i * 5) % 256
        vpk += video.encode(av.VideoFrame.from_ndarray(planes, format="yuv420p"), slot)
    vpk += video.flush()
    events = _interleaved(_new(None, part=1 / 3), vpk, [])
    parts = [e for e in events if isinstance(e, Part)]
    segs = [e for e in events if isinstance(e, Segment)]
    assert [s.start for s in segs] == pytest.approx([0.0, 2.0, 4.0])
    for p in parts[:-1]:
        assert p.duration == pytest.approx(1 / 3), (p.sequence, p.index, p.duration)
    starts = [p.start for p in parts]
    assert starts == pytest.approx([i / 3 for i in range(len(parts))])
