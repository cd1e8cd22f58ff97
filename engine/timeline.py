"""Where each decoded frame lands on the output timeline. Pure logic, no media objects.

A WebRTC publisher delivers video at a variable rate (frame timestamps jitter, the browser drops
frames under load, a muted camera sends nothing) and audio in 20 ms chunks with its own clock.
The output is constant-rate video (one frame per slot of ``1/fps``) and gapless audio whose
timestamps are a 0-based running sample count, because PyAV's AAC encoder re-chunks 960-sample
Opus frames into 1024-sample AAC frames and rejects any other timestamping.

Both tracks are placed on one timeline whose origin is the arrival of the first media of the
stream; a track that starts late or stalls is filled (repeated/black video, silence) so the
packager never waits on a missing track for more than ``gap_fill_after`` seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class VideoPlacement:
    """What to emit for one incoming video frame."""

    repeat_previous: int  # slots to fill with the previous frame (or black) before this one
    emit: bool  # whether this frame takes a slot of its own
    slot: int  # the slot this frame takes when ``emit``


class VideoGrid:
    """Maps timestamps (seconds on the stream timeline) to constant-rate output slots.

    A frame at time ``t`` belongs to slot ``round(t * fps)``, as FFmpeg's ``fps`` filter does.
    Two frames for one slot: the later one is dropped. A skipped slot repeats the previous frame.
    """

    def __init__(self, fps: int, max_repeat: int | None = None) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self.next_slot = 0
        # A frame that arrives after a long silence must not trigger a burst of repeats larger
        # than the filler would have produced anyway; by default allow 10 s worth.
        self.max_repeat = max_repeat if max_repeat is not None else fps * 10

    def slot_of(self, t: float) -> int:
        return max(0, math.floor(t * self.fps + 0.5))

    def place(self, t: float) -> VideoPlacement:
        slot = self.slot_of(t)
        if slot < self.next_slot:
            return VideoPlacement(repeat_previous=0, emit=False, slot=slot)
        repeat = min(slot - self.next_slot, self.max_repeat)
        self.next_slot = slot + 1
        return VideoPlacement(repeat_previous=repeat, emit=True, slot=slot)

    def fill_until(self, t: float) -> int:
        """Slots to fill with the previous frame so that every slot starting before ``t`` exists."""
        last_due = math.ceil(t * self.fps) - 1  # slots whose start time is < t
        count = max(0, last_due + 1 - self.next_slot)
        self.next_slot += count
        return count

    def time_of(self, slot: int) -> float:
        return slot / self.fps


@dataclass(frozen=True)
class AudioPlacement:
    """What to do with one incoming audio frame of ``n`` samples."""

    silence_before: int  # samples of silence to insert first
    skip: int  # samples to drop from the start of the frame (it overlaps what was written)


class AudioTimeline:
    """Keeps audio gapless and in step with the stream timeline, counting samples written.

    Small jitter (under ``tolerance`` seconds) is absorbed; a real gap is filled with silence, a
    late overlap (audio that arrives after its span was already filled) is trimmed.
    """

    def __init__(self, sample_rate: int, tolerance: float = 0.06) -> None:
        self.sample_rate = sample_rate
        self.tolerance = round(tolerance * sample_rate)
        self.samples_written = 0

    def place(self, t: float, n: int) -> AudioPlacement:
        position = round(t * self.sample_rate)
        ahead = position - self.samples_written
        if ahead > self.tolerance:
            self.samples_written += ahead + n
            return AudioPlacement(silence_before=ahead, skip=0)
        if -ahead > self.tolerance:
            skip = min(n, -ahead)
            self.samples_written += n - skip
            return AudioPlacement(silence_before=0, skip=skip)
        self.samples_written += n
        return AudioPlacement(silence_before=0, skip=0)

    def fill_until(self, t: float) -> int:
        """Samples of silence needed so that audio reaches time ``t``."""
        missing = max(0, round(t * self.sample_rate) - self.samples_written)
        self.samples_written += missing
        return missing

    @property
    def duration(self) -> float:
        return self.samples_written / self.sample_rate


class TrackClock:
    """Anchors a track's own timestamps to the stream timeline at its first frame's arrival.

    aiortc rebases RTP timestamps to 0 per track, so audio and video share no clock; each is
    anchored where it arrived (``arrival`` seconds after the stream's origin) and then follows
    its own timestamps, which are steadier than arrival times.
    """

    def __init__(self) -> None:
        self._offset: float | None = None

    def to_timeline(self, media_time: float, arrival: float) -> float:
        if self._offset is None:
            self._offset = arrival - media_time
        return self._offset + media_time

    def reanchor(self) -> None:
        """Forget the anchor (after a long stall the sender's timestamps may have jumped)."""
        self._offset = None
