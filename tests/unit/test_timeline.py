"""The output timeline: constant-rate video slots and gapless audio samples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.timeline import AudioTimeline, TrackClock, VideoGrid


def test_steady_frames_take_consecutive_slots():
    grid = VideoGrid(30)
    placements = [grid.place(i / 30) for i in range(10)]
    assert [p.slot for p in placements] == list(range(10))
    assert all(p.emit and p.repeat_previous == 0 for p in placements)


def test_jitter_of_a_few_ms_does_not_move_frames():
    grid = VideoGrid(30)
    jitter = [0.0, 0.001, -0.001, 0.002, -0.002]
    slots = [grid.place(max(0.0, i / 30 + jitter[i % 5])).slot for i in range(30)]
    assert slots == list(range(30))


def test_two_frames_for_one_slot_drop_the_second():
    grid = VideoGrid(30)
    assert grid.place(0.0).emit
    assert not grid.place(0.010).emit  # 60 fps input into 30 fps output
    assert grid.place(1 / 30).slot == 1


def test_skipped_slots_repeat_the_previous_frame():
    grid = VideoGrid(30)
    grid.place(0.0)
    p = grid.place(4 / 30)  # a 15 fps burst or a lost frame: slots 1..3 are missing
    assert (p.slot, p.repeat_previous, p.emit) == (4, 3, True)
    assert grid.next_slot == 5


def test_late_first_frame_repeats_from_slot_zero():
    grid = VideoGrid(30)
    p = grid.place(0.5)  # video arrived half a second after audio
    assert (p.slot, p.repeat_previous) == (15, 15)


def test_fill_until_covers_slots_that_started_before_t():
    grid = VideoGrid(30)
    assert grid.fill_until(0.0) == 0
    assert grid.fill_until(1.0) == 30  # slots 0..29 start before 1.0 s
    assert grid.fill_until(1.0) == 0
    assert grid.place(1.0).slot == 30


def test_repeat_burst_is_capped():
    grid = VideoGrid(30, max_repeat=10)
    grid.place(0.0)
    p = grid.place(100.0)
    assert p.repeat_previous == 10 and p.slot == 3000


@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), max_size=200))
def test_emitted_slots_strictly_increase(times):
    grid = VideoGrid(30)
    last = -1
    for t in sorted(times):
        p = grid.place(t)
        if p.emit:
            assert p.slot > last
            assert p.slot - p.repeat_previous > last
            last = p.slot
        assert grid.next_slot == last + 1 or last == -1


def test_grid_rejects_bad_fps():
    with pytest.raises(ValueError):
        VideoGrid(0)


def test_audio_in_step_is_appended():
    tl = AudioTimeline(48000)
    for i in range(50):
        p = tl.place(i * 0.02 + 0.003 * (-1) ** i, 960)  # ±3 ms jitter
        assert (p.silence_before, p.skip) == (0, 0)
    assert tl.samples_written == 50 * 960


def test_audio_gap_is_filled_with_silence():
    tl = AudioTimeline(48000)
    tl.place(0.0, 960)
    p = tl.place(0.5, 960)  # 480 ms of audio never arrived
    assert p.silence_before == 24000 - 960
    assert tl.samples_written == 24000 + 960


def test_audio_overlap_is_trimmed():
    tl = AudioTimeline(48000)
    assert tl.fill_until(1.0) == 48000  # a stall was filled with silence
    p = tl.place(0.9, 960 * 10)  # then the stalled audio arrives
    assert p.skip == 4800
    assert tl.samples_written == 48000 + 9600 - 4800


def test_audio_start_offset_inserts_leading_silence():
    tl = AudioTimeline(48000)
    p = tl.place(0.25, 960)
    assert p.silence_before == 12000


def test_track_clock_anchors_at_first_arrival():
    clock = TrackClock()
    assert clock.to_timeline(0.0, 0.3) == pytest.approx(0.3)
    assert clock.to_timeline(1.0, 1.25) == pytest.approx(1.3)  # follows media time, not arrival
    clock.reanchor()
    assert clock.to_timeline(2.0, 5.0) == pytest.approx(5.0)
