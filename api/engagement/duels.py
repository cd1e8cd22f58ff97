"""Creator duels: the pure part (a duel's fields, its wire form, the winner rule).

Two live creators agree to a timed duel; both rooms see one scoreboard. The rule is shown
before the start (``tips``: the tokens tipped to each creator's stream during the duel). The
end is defined for every case:

- at the deadline, the side with more tokens wins; equal tokens is a tie (no winner);
- a creator who ends the duel early forfeits it: the other side wins, whatever the score;
- a side whose stream stops being live (or is frozen) forfeits the same way (``offline``);
  both at once is a tie.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Side = Literal["challenger", "opponent"]
EndedBy = Literal["deadline", "challenger", "opponent", "offline"]
RULES = ("tips",)


def other(side: Side) -> Side:
    return "opponent" if side == "challenger" else "challenger"


@dataclass(frozen=True, slots=True)
class Outcome:
    winner: Side | None
    tie: bool


def decide(
    challenger: int,
    opponent: int,
    *,
    ended_by: EndedBy = "deadline",
    offline: frozenset[Side] = frozenset(),
) -> Outcome:
    """The winner of a finished duel (rule ``tips``), see the module docstring."""
    if ended_by in ("challenger", "opponent"):
        return Outcome(other(ended_by), False)
    if ended_by == "offline" and len(offline) == 1:
        (gone,) = offline
        return Outcome(other(gone), False)
    if ended_by == "offline" and offline:
        return Outcome(None, True)
    if challenger == opponent:
        return Outcome(None, True)
    return Outcome("challenger" if challenger > opponent else "opponent", False)


@dataclass(frozen=True, slots=True)
class Duel:
    id: uuid.UUID
    challenger_stream: uuid.UUID
    opponent_stream: uuid.UUID
    rule: str
    seconds: int
    state: str  # invited | declined | expired | live | ended
    invited_at: datetime
    respond_by: datetime
    started_at: datetime | None
    deadline: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    challenger_score: int
    opponent_score: int
    winner: str | None

    @property
    def streams(self) -> tuple[uuid.UUID, uuid.UUID]:
        return (self.challenger_stream, self.opponent_stream)

    def side_of(self, stream_id: uuid.UUID) -> Side | None:
        if stream_id == self.challenger_stream:
            return "challenger"
        if stream_id == self.opponent_stream:
            return "opponent"
        return None

    def wire(self) -> dict[str, Any]:
        def at(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": str(self.id),
            "challengerStreamId": str(self.challenger_stream),
            "opponentStreamId": str(self.opponent_stream),
            "rule": self.rule,
            "seconds": self.seconds,
            "state": self.state,
            "invitedAt": at(self.invited_at),
            "respondBy": at(self.respond_by),
            "startedAt": at(self.started_at),
            "deadline": at(self.deadline),
            "endedAt": at(self.ended_at),
            "endedBy": self.ended_by,
            "scores": {"challenger": self.challenger_score, "opponent": self.opponent_score},
            "winner": self.winner,
            "tie": self.state == "ended" and self.winner is None,
        }
