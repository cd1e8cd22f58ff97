"""A live broadcast's health as the server sees it: incoming bitrate, picture size, frame rate,
dropped frames. Pure: the route takes samples (the publisher's RTP byte count from aiortc's
stats, the pipeline's frame counters) and this turns two of them into rates."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """Counters of one publisher session at ``at`` (``time.monotonic()``)."""

    at: float
    bytes_received: int  # RTP payload bytes, audio and video
    frames_in: int  # decoded video frames
    frames_dropped: int


@dataclass(frozen=True, slots=True)
class Rates:
    bitrate_kbps: float
    frame_rate: float
    dropped_per_second: float
    window_seconds: float


MIN_WINDOW = 0.5  # seconds: a shorter window says more about the poll than the broadcast


def rates(before: Sample, now: Sample) -> Rates:
    """Rates between two samples of the same session (counters only grow)."""
    window = max(now.at - before.at, 1e-9)
    return Rates(
        bitrate_kbps=round(
            max(now.bytes_received - before.bytes_received, 0) * 8 / window / 1000, 1
        ),
        frame_rate=round(max(now.frames_in - before.frames_in, 0) / window, 1),
        dropped_per_second=round(max(now.frames_dropped - before.frames_dropped, 0) / window, 2),
        window_seconds=round(window, 2),
    )


def pick_baseline(previous: Sample | None, start: Sample, now: Sample) -> Sample:
    """The sample to measure ``now`` against: the last poll's when it is at least
    ``MIN_WINDOW`` old, else the session's start (a first poll: the average so far)."""
    if previous is not None and now.at - previous.at >= MIN_WINDOW:
        return previous
    return start
