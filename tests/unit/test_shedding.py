"""Load shedding: the written order of steps, taken one at a time and given back in reverse."""

from __future__ import annotations

import pytest

from engine.shedding import (
    MAX_STEP,
    STEPS,
    ShedPolicy,
    boundary_between,
    encodes,
    is_boundary,
)

RUNGS = 3
PART = 10  # frames per LL-HLS part (1/3 s at 30 fps)
KEYINT = 60


def encoded(step: int, rung: int, slots: int = 60) -> list[int]:
    return [
        s
        for s in range(slots)
        if encodes(step, rung, RUNGS, s, boundary=is_boundary(s, PART, KEYINT))
    ]


def test_steps_go_up_one_at_a_time_then_back_down_in_reverse_order():
    policy = ShedPolicy(high=0.9, low=0.55, calm_windows=3)
    ups = [policy.observe(busy=1.0, elapsed=1.0) for _ in range(MAX_STEP + 2)]
    assert [c.step if c else None for c in ups] == [1, 2, 3, None, None]
    assert [c.name for c in ups if c] == list(STEPS[1:])
    # A window in between (neither high nor low) holds the step and resets the calm count.
    downs = [policy.observe(busy=0.3, elapsed=1.0) for _ in range(2)]
    downs.append(policy.observe(busy=0.7, elapsed=1.0))
    downs += [policy.observe(busy=0.3, elapsed=1.0) for _ in range(9)]
    steps = [c.step for c in downs if c]
    assert steps == [2, 1, 0]
    assert [i for i, c in enumerate(downs) if c] == [5, 8, 11]  # three calm windows each
    assert policy.observe(busy=0.0, elapsed=1.0) is None  # nothing below "full"


def test_each_step_sheds_more_and_lower_rungs_first():
    work = []
    for step in range(MAX_STEP + 1):
        per_rung = [len(encoded(step, r)) for r in range(RUNGS)]
        # The top rung never loses more than a lower one does.
        assert per_rung[0] >= per_rung[1] >= per_rung[2], (step, per_rung)
        work.append(per_rung)
    assert work[0] == [60, 60, 60]
    assert all(sum(a) > sum(b) for a, b in zip(work, work[1:], strict=False)), work
    # Step 3 leaves the lowest rung only the part boundaries: one frame per part.
    assert encoded(3, 2) == list(range(0, 60, PART))


@pytest.mark.parametrize("step", range(MAX_STEP + 1))
def test_every_rung_encodes_every_part_boundary_at_every_step(step):
    for rung in range(RUNGS):
        slots = encoded(step, rung, 120)
        assert set(range(0, 120, PART)) <= set(slots)
        # Drops are spread out: never more than two slots in a row are left empty above the
        # lowest rung's boundary-only step.
        if not (step == 3 and rung == RUNGS - 1):
            assert max(b - a for a, b in zip(slots, slots[1:], strict=False)) <= 3


def test_a_hole_across_a_boundary_puts_the_frame_on_it():
    assert boundary_between(3, 9, PART, KEYINT) is None
    assert boundary_between(8, 13, PART, KEYINT) == 10
    assert boundary_between(8, 10, PART, KEYINT) is None  # the frame is on it already
    assert boundary_between(15, 45, PART, KEYINT) == 20


def test_policy_rejects_nonsense_thresholds():
    with pytest.raises(ValueError):
        ShedPolicy(high=0.5, low=0.6)
