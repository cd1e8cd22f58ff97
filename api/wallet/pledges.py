"""Refundable goal pledges: a goal in ``pledge`` mode collects holds instead of tips.

A pledge reserves tokens (purpose ``pledge``, ``ref_id`` = the goal, the stream's id) until the
goal completes. The pledge that reaches the target completes the goal (its one conditional
``UPDATE … WHERE state = 'open'``) and captures every pledge still held, each for its full
amount, for the creator. If the goal is cancelled or the stream ends first, every pledge is
released. A pledge whose hold expired (``TEEZU_PLEDGE_HOLD_SECONDS``) no longer counts.
Anything a crash left half done is finished by `sweep` (the ledger worker).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from api.wallet import goals
from api.wallet.errors import GoalNotFound, GoalNotPledge, HoldNotActive, SelfPurchase
from api.wallet.goals import Goal
from api.wallet.model import HoldPurpose, IdempotencyKey, Outcome
from api.wallet.streams import live_stream

if TYPE_CHECKING:
    from api.wallet.service import Ledger

log = logging.getLogger(__name__)


class Pledges:
    def __init__(self, ledger: Ledger, *, hold_seconds: int) -> None:
        self.ledger = ledger
        self.pool = ledger.pool
        self.hold_seconds = hold_seconds

    async def pledge(
        self,
        key: IdempotencyKey,
        stream_id: uuid.UUID,
        amount: int,
        *,
        request_id: str | None = None,
    ) -> tuple[Outcome, Goal | None]:
        """Pledge ``amount`` to the stream's open pledge goal (the stream must be live).

        Returns the reserve's outcome (``INSUFFICIENT_FUNDS`` stored with the key) with
        ``goalId`` added, and the goal if this pledge completed it. Raises `GoalNotFound`,
        `GoalNotPledge`, `SelfPurchase`, `StreamNotLive`, `StreamFrozen`.
        """
        stream = await live_stream(self.pool, stream_id)
        if stream.creator_id == key.owner_id:
            raise SelfPurchase("creators cannot pledge to their own goal")
        goal = await goals.current(self.pool, stream_id)
        if goal is None or goal.state != "open":
            raise GoalNotFound("this stream has no open goal", meta={"streamId": str(stream_id)})
        if goal.mode != "pledge":
            raise GoalNotPledge(
                "this goal collects tips, not pledges", meta={"goalId": str(goal.id)}
            )
        outcome = await self.ledger.reserve(
            key,
            amount=amount,
            purpose=HoldPurpose.PLEDGE,
            ttl_seconds=self.hold_seconds,
            payee_id=stream.creator_id,
            stream_id=stream_id,
            ref_id=goal.id,
            request_id=request_id,
        )
        if not outcome.ok:
            return outcome, None
        hold_id = uuid.UUID(outcome.data["holdId"])
        completed = await goals.complete_if_reached(self.pool, goal.id)
        if completed is not None:
            await self.capture_all(goal.id)
        else:
            # The goal ended before this pledge was counted (cancelled, or the stream ended):
            # the pledge goes back, whoever ended it.
            now = await goals.get(self.pool, goal.id)
            if now is not None and now.state == "cancelled":
                await self._release(hold_id)
            elif now is not None and now.state == "completed":
                await self.capture_all(goal.id)
        state = await self.pool.fetchval("SELECT state FROM ledger_holds WHERE id = $1", hold_id)
        data = dict(outcome.data, goalId=str(goal.id), pledge=state)
        return Outcome(data, replayed=outcome.replayed), completed

    async def capture_all(self, goal_id: uuid.UUID) -> int:
        """Capture every pledge of a completed goal still held; returns how many."""
        done = 0
        for row in await self._held(goal_id):
            try:
                await self.ledger.capture(row[0], row[1])
                done += 1
            except HoldNotActive:
                pass  # expired or captured by a concurrent pass
        return done

    async def release_all(self, goal_id: uuid.UUID) -> int:
        """Release every pledge of a goal still held; returns how many."""
        done = 0
        for row in await self._held(goal_id):
            if await self._release(row[0]):
                done += 1
        return done

    async def cancel_goal(self, stream_id: uuid.UUID) -> Goal | None:
        """Cancel the stream's open goal; a pledge goal's pledges go back."""
        goal = await goals.cancel(self.pool, stream_id)
        if goal is not None and goal.mode == "pledge":
            await self.release_all(goal.id)
            goal = await goals.get(self.pool, goal.id)
        return goal

    async def stream_ended(self, stream_id: uuid.UUID) -> Goal | None:
        """The stream ended (or was stopped): its open pledge goal is cancelled and its
        pledges released. A tips goal stays open (tips are already given)."""
        goal = await goals.current(self.pool, stream_id)
        if goal is None or goal.state != "open" or goal.mode != "pledge":
            return None
        return await self.cancel_goal(stream_id)

    async def sweep(self) -> int:
        """The ledger worker's pass: pledges still held on a completed goal are captured, on a
        cancelled one released; an open pledge goal whose stream ended after a pledge (a node
        that died never ran its end hook) is cancelled and its pledges released."""
        done = 0
        for row in await self.pool.fetch(
            "SELECT DISTINCT g.stream_id FROM stream_goals g "
            "JOIN ledger_holds h ON h.ref_id = g.id JOIN streams s ON s.id = g.stream_id "
            "WHERE g.state = 'open' AND g.mode = 'pledge' AND h.purpose = 'pledge' "
            "AND h.state = 'held' AND s.state <> 'live' AND h.created_at < s.ended_at"
        ):
            if await self.stream_ended(row["stream_id"]) is not None:
                done += 1
        for row in await self.pool.fetch(
            "SELECT DISTINCT g.id, g.state FROM stream_goals g JOIN ledger_holds h "
            "ON h.ref_id = g.id WHERE h.purpose = 'pledge' AND h.state = 'held' "
            "AND g.state <> 'open'"
        ):
            if row["state"] == "completed":
                done += await self.capture_all(row["id"])
            else:
                done += await self.release_all(row["id"])
        return done

    async def _held(self, goal_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
        rows = await self.pool.fetch(
            "SELECT id, amount FROM ledger_holds WHERE ref_id = $1 AND purpose = 'pledge' "
            "AND state = 'held'",
            goal_id,
        )
        return [(r["id"], r["amount"]) for r in rows]

    async def _release(self, hold_id: uuid.UUID) -> bool:
        try:
            await self.ledger.release(hold_id)
            return True
        except HoldNotActive:
            return False
