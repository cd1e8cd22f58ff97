"""The kill switch on a stream's money: stop every per-minute billing and settle every pending
hold of the stream, exactly once (`stop_billing`). The freeze path calls it (safe word,
consent revocation, moderation: `ingest.safety.SafetyControl.on_frozen`), and so does the end
of a broadcast (`stream_ended`, which keeps announced ticket shows for the next broadcast).

The rule, in order:

1. this node's billing tasks of the stream are cancelled and awaited, so no extension of this
   node is in flight when it returns (another node's task stops at its next minute: its
   extension finds the hold ended, or the show row no longer running);
2. a running private show ends and its hold is captured for the **completed** minutes only;
   the minute in progress goes back to the viewer (pending requests are cancelled);
3. an announced ticket show is cancelled and its tickets released; a running one ends (its
   tickets were captured when it started: they are not refunded here);
4. an open pledge goal is cancelled and its pledges released;
5. any other hold of the stream still held is released (a reserve that raced with the stop).

Every hold ends exactly once (its state UPDATE is the gate), so calling it again does nothing
more; each call reports the holds that ended while it ran and the shows it stopped.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.wallet.errors import HoldNotActive

if TYPE_CHECKING:
    from api.wallet.service import Ledger

log = logging.getLogger(__name__)

# Holds step 5 leaves alone: tickets of a show still announced (stream_ended keeps those),
# the hold of a private show that has ended and the pledges of a goal that completed (their
# ender, or the ledger worker, captures them).
_STRAGGLERS = """
SELECT h.id FROM ledger_holds h
WHERE h.stream_id = $1 AND h.state = 'held'
  AND NOT EXISTS (SELECT 1 FROM ticket_shows t WHERE t.id = h.ref_id AND t.state = 'announced')
  AND NOT EXISTS (SELECT 1 FROM private_shows p WHERE p.id = h.ref_id AND p.state = 'ended')
  AND NOT EXISTS (SELECT 1 FROM stream_goals g WHERE g.id = h.ref_id AND g.state = 'completed')
"""


@dataclass
class BillingStop:
    """What a `stop_billing` call did."""

    stream_id: uuid.UUID
    reason: str
    private_shows: list[uuid.UUID] = field(default_factory=list)  # ended or cancelled
    ticket_shows: list[uuid.UUID] = field(default_factory=list)  # cancelled or ended
    goal_id: uuid.UUID | None = None  # the pledge goal cancelled
    holds: list[dict[str, Any]] = field(default_factory=list)  # ended while it ran

    @property
    def captured(self) -> int:
        return sum(h["captured"] for h in self.holds)

    @property
    def released(self) -> int:
        return sum(h["amount"] - h["captured"] for h in self.holds)

    def public(self) -> dict[str, Any]:
        return {
            "streamId": str(self.stream_id),
            "reason": self.reason,
            "privateShows": [str(s) for s in self.private_shows],
            "ticketShows": [str(s) for s in self.ticket_shows],
            "goalId": str(self.goal_id) if self.goal_id else None,
            "holds": self.holds,
            "captured": self.captured,
            "released": self.released,
        }


async def stop_billing(
    ledger: Ledger, stream_id: uuid.UUID, reason: str, *, keep_announced: bool = False
) -> BillingStop:
    """Stop the stream's billing and settle its pending holds (the rule above)."""
    pool = ledger.pool
    before = {
        r["id"]
        for r in await pool.fetch(
            "SELECT id FROM ledger_holds WHERE stream_id = $1 AND state = 'held'", stream_id
        )
    }
    report = BillingStop(stream_id, reason)
    shows = await ledger.private_shows.stop_stream(stream_id, reason)
    report.private_shows = [s.id for s in shows]
    if keep_announced:
        ended = await ledger.ticket_shows.end_running(stream_id, reason)
    else:
        ended = await ledger.ticket_shows.stop_stream(stream_id, reason)
    report.ticket_shows = [t.id for t in ended]
    goal = await ledger.pledges.stream_ended(stream_id)
    report.goal_id = goal.id if goal else None
    for row in await pool.fetch(_STRAGGLERS, stream_id):
        try:
            await ledger.release(row["id"])
        except HoldNotActive:
            pass  # ended meanwhile
    if before:
        for r in await pool.fetch(
            "SELECT id, purpose, state, amount, coalesce(captured, 0) AS captured "
            "FROM ledger_holds WHERE id = ANY($1::uuid[]) AND state <> 'held' ORDER BY id",
            list(before),
        ):
            report.holds.append(
                {
                    "holdId": str(r["id"]),
                    "purpose": r["purpose"],
                    "state": r["state"],
                    "amount": r["amount"],
                    "captured": r["captured"],
                }
            )
    if report.holds or report.private_shows or report.ticket_shows:
        log.warning(
            "billing stopped",
            extra={
                "stream_id": str(stream_id),
                "reason": reason,
                "holds": len(report.holds),
                "captured": report.captured,
                "released": report.released,
            },
        )
    return report
