"""Load shedding for one stream's encoder thread. Pure policy: numbers in, decisions out.

When the node cannot encode the whole ladder in real time, work is shed in frames, in a written
order, and restored in reverse order when the load falls:

====  ==========================  ==============================================================
step  name                        what is encoded
====  ==========================  ==============================================================
0     ``full``                    every rung, every output slot
1     ``uniform-drops``           every rung, two slots of three (20 of 30 fps), evenly spaced
2     ``lower-rungs-third-rate``  the top rung as in 1; the rungs below it one slot of three
3     ``lowest-rung-part-rate``   as 2, but the lowest rung only at part boundaries
====  ==========================  ==============================================================

Slots that start an LL-HLS part (and so every keyframe slot) are always encoded in every rung:
each part then starts with a frame of its own and is never longer than the part target, so a
rendition's playlist stays valid at every step (samples simply last longer). A frame the
encoder thread never took (its backlog kept only the newest) leaves a hole the same way; when
such a hole spans a part boundary, the next frame is placed on that boundary
(:func:`boundary_between`).

Independently of the step, the encoder thread never waits on more than a frame or two of
backlog (``engine.backlog``): latency stays flat whatever the step; shedding only decides
*which* frames are lost, so that what is lost is spread out and falls on the lower rungs first.
"""

from __future__ import annotations

from dataclasses import dataclass

STEPS = ("full", "uniform-drops", "lower-rungs-third-rate", "lowest-rung-part-rate")
MAX_STEP = len(STEPS) - 1


def is_boundary(slot: int, part_frames: int, keyint: int) -> bool:
    """Slots every rung encodes at every step: part starts and keyframes."""
    return slot % part_frames == 0 or slot % keyint == 0


def boundary_between(first: int, last: int, part_frames: int, keyint: int) -> int | None:
    """The earliest boundary slot in ``[first, last)`` (None if there is none).

    ``first`` is the next slot the encoder has not written, ``last`` the slot a frame belongs to:
    when a hole between them crosses a boundary, the frame is written on that boundary instead.
    """
    for slot in range(first, last):
        if is_boundary(slot, part_frames, keyint):
            return slot
    return None


def encodes(step: int, rung: int, rungs: int, slot: int, *, boundary: bool) -> bool:
    """Whether rung ``rung`` (0 = top) of ``rungs`` encodes output slot ``slot`` at ``step``."""
    if boundary or step <= 0:
        return True
    lowest = rungs > 1 and rung == rungs - 1
    if step >= 3 and lowest:
        return False  # boundaries only
    if step >= 2 and rung > 0:
        return slot % 3 == 0
    return slot % 3 != 2


@dataclass(frozen=True)
class ShedChange:
    """One step up or down, with the load that caused it (a log event and a metric)."""

    step: int
    previous: int
    utilization: float  # busy seconds / elapsed seconds over the window that decided it

    @property
    def name(self) -> str:
        return STEPS[self.step]


class ShedPolicy:
    """Decides the step from the encoder thread's utilization, one window at a time.

    ``observe`` is fed, once per window (about a second), the seconds the thread spent working
    and the seconds that passed. A window at or above ``high`` goes one step up at once; only
    ``calm_windows`` consecutive windows under ``low`` go one step down (hysteresis: restoring a
    step adds back the work it shed, up to half again at step 1).
    """

    def __init__(
        self,
        *,
        high: float = 0.9,
        low: float = 0.55,
        calm_windows: int = 3,
        max_step: int = MAX_STEP,
    ) -> None:
        if not 0 < low < high:
            raise ValueError("need 0 < low < high")
        self.high = high
        self.low = low
        self.calm_windows = calm_windows
        self.max_step = max_step
        self.step = 0
        self._calm = 0

    def observe(self, busy: float, elapsed: float) -> ShedChange | None:
        if elapsed <= 0:
            return None
        utilization = busy / elapsed
        if utilization >= self.high:
            self._calm = 0
            if self.step < self.max_step:
                self.step += 1
                return ShedChange(self.step, self.step - 1, utilization)
            return None
        if utilization < self.low:
            self._calm += 1
            if self._calm >= self.calm_windows and self.step > 0:
                self._calm = 0
                self.step -= 1
                return ShedChange(self.step, self.step + 1, utilization)
            return None
        self._calm = 0
        return None
