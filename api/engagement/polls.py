"""Polls and challenges: their tally and the rule that names the winner. Pure.

The winner is the option with the most weight (votes in a free poll, tipped tokens in a
weighted one); between options with equal weight, the one with more voters; still equal,
nobody wins (``tie``). A poll without votes has no winner either. The rule is shown with
the poll (docs/engagement.md) before anyone votes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class OptionTally:
    option: int
    votes: int  # voters (a weighted poll: tips)
    weight: int  # votes, or tipped tokens

    def wire(self) -> dict[str, int]:
        return {"option": self.option, "votes": self.votes, "weight": self.weight}


def tally(options: int, rows: Iterable[tuple[int, int, int]]) -> list[OptionTally]:
    """Every option's tally (zero for options nobody chose) from ``(option, votes, weight)``."""
    found = {option: (votes, weight) for option, votes, weight in rows}
    return [OptionTally(i, *found.get(i, (0, 0))) for i in range(options)]


@dataclass(frozen=True, slots=True)
class Result:
    winner: int | None
    tie: bool  # several options share the top (weight and voters)


def decide(counted: list[OptionTally]) -> Result:
    """The winner by weight, then voters; None with ``tie`` when still equal, None without
    votes."""
    ranked = sorted(counted, key=lambda t: (t.weight, t.votes), reverse=True)
    if not ranked or ranked[0].weight == 0:
        return Result(None, False)
    top = ranked[0]
    if len(ranked) > 1 and (ranked[1].weight, ranked[1].votes) == (top.weight, top.votes):
        return Result(None, True)
    return Result(top.option, False)


@dataclass(frozen=True, slots=True)
class Poll:
    id: uuid.UUID
    stream_id: uuid.UUID
    kind: str  # poll | challenge
    question: str
    options: tuple[str, ...]
    weighted: bool
    state: str  # open | closed
    opened_at: datetime
    deadline: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None  # deadline | creator
    counted: tuple[OptionTally, ...] = ()
    winner: int | None = None

    @property
    def tie(self) -> bool:
        return self.state == "closed" and decide(list(self.counted)).tie

    def wire(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "kind": self.kind,
            "question": self.question,
            "options": list(self.options),
            "weighted": self.weighted,
            "state": self.state,
            "openedAt": self.opened_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "closedAt": self.closed_at.isoformat() if self.closed_at else None,
            "closedBy": self.closed_by,
            "tally": [t.wire() for t in self.counted],
            "voters": sum(t.votes for t in self.counted),
            "winner": self.winner,
            "tie": self.tie,
        }
