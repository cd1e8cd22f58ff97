"""The reactive avatar: the creator's avatar reacts to tips by their size. Pure.

States rank ``idle < happy < excited < wow``. A tip of at least a state's threshold raises
the avatar to the highest state it reaches, for that state's hold time; a smaller tip never
lowers it (it may extend a state it reaches again), and when the hold ends the avatar is idle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

STATES = ("idle", "happy", "excited", "wow")
RANK = {s: i for i, s in enumerate(STATES)}
HOLD = {"happy": 8.0, "excited": 12.0, "wow": 20.0}  # seconds a state lasts


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Tokens a single tip needs for each state (increasing)."""

    happy: int = 1
    excited: int = 50
    wow: int = 200

    def __post_init__(self) -> None:
        if not 0 < self.happy < self.excited < self.wow:
            raise ValueError("thresholds must be positive and increasing: happy < excited < wow")

    def state_for(self, amount: int) -> str:
        if amount >= self.wow:
            return "wow"
        if amount >= self.excited:
            return "excited"
        if amount >= self.happy:
            return "happy"
        return "idle"


@dataclass(frozen=True, slots=True)
class Avatar:
    state: str = "idle"
    until: datetime | None = None  # when the state ends (None: idle)

    def at(self, now: datetime) -> Avatar:
        """The avatar as it is at ``now`` (a state whose hold ended is idle)."""
        if self.state == "idle" or (self.until is not None and self.until <= now):
            return IDLE
        return self


IDLE = Avatar()


def react(avatar: Avatar, amount: int, thresholds: Thresholds, now: datetime) -> Avatar:
    """The avatar after a tip of ``amount`` tokens at ``now``."""
    current = avatar.at(now)
    reached = thresholds.state_for(amount)
    if reached == "idle" or RANK[reached] < RANK[current.state]:
        return current
    return Avatar(reached, now + timedelta(seconds=HOLD[reached]))
