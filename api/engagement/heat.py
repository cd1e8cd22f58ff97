"""A room's engagement heat and the trending moments it marks. Pure: times in, decisions out.

Heat is an exponentially decaying sum of the room's activity (a chat message or a vote weighs
1, a tip one per ``tokens_per_point`` tokens), with a short half-life (the room now) and a
long one (the room's usual level, scaled to the short one's units). A *moment* is when the
room is well above its usual level: the short sum is at least ``ratio`` times the long one
and at least ``floor`` (so a quiet room's first message is no moment), and the last moment
is ``cooldown`` seconds ago or more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HeatRule:
    half_life: float = 10.0
    baseline_half_life: float = 300.0
    ratio: float = 3.0
    floor: float = 20.0
    cooldown: float = 60.0
    tokens_per_point: int = 5

    def tip_weight(self, tokens: int) -> float:
        return max(1.0, tokens / self.tokens_per_point)


class Heat:
    """One room's heat on one node."""

    def __init__(self, rule: HeatRule | None = None) -> None:
        self.rule = rule or HeatRule()
        self.fast = 0.0
        self.slow = 0.0
        self.at: float | None = None
        self.last_moment: float | None = None

    def _decay(self, now: float) -> None:
        if self.at is not None and now > self.at:
            dt = now - self.at
            self.fast *= math.exp2(-dt / self.rule.half_life)
            self.slow *= math.exp2(-dt / self.rule.baseline_half_life)
        if self.at is None or now > self.at:
            self.at = now

    def baseline(self) -> float:
        """The long sum in the short sum's units (equal under a steady rate of activity)."""
        return self.slow * self.rule.half_life / self.rule.baseline_half_life

    def level(self, now: float) -> float:
        self._decay(now)
        return self.fast

    def add(self, now: float, weight: float) -> float | None:
        """Count activity at ``now`` (seconds, monotonic); the heat when this starts a moment."""
        if weight <= 0 or not math.isfinite(weight):
            raise ValueError("weight must be a positive number")
        self._decay(now)
        # The baseline is judged before this activity joins it, so a burst stands out.
        base = self.baseline()
        self.fast += weight
        self.slow += weight
        cooled = self.last_moment is None or now - self.last_moment >= self.rule.cooldown
        if cooled and self.fast >= self.rule.floor and self.fast >= self.rule.ratio * base:
            self.last_moment = now
            return self.fast
        return None
