"""Ticket shows: the creator announces a show with a price; a ticket is a hold on the viewer's
wallet (purpose ``ticket``, ``ref_id`` = the show) captured when the show starts and released
if it is cancelled. While the show runs, the stream admits ticket holders only: a viewer holds
a ticket when their ticket's hold was captured (`admitted`).

States: ``announced`` → ``running`` → ``ended``, or ``announced`` → ``cancelled``; each step
is one conditional UPDATE, so it happens once. The start captures every ticket still held;
a ticket bought while the show runs is captured at once. A ticket whose hold expired before
the start (``TEEZU_TICKET_HOLD_SECONDS``) was released by the ledger worker and admits nobody.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from api.wallet.errors import (
    AlreadyHasTicket,
    HoldNotActive,
    NotStreamOwner,
    SelfPurchase,
    ShowAlreadyOpen,
    ShowNotFound,
    ShowNotPending,
    TicketSalesClosed,
)
from api.wallet.model import HoldPurpose, IdempotencyKey, Outcome
from api.wallet.streams import live_stream, refuse_if_frozen, stream_info
from teezu.db import Db

if TYPE_CHECKING:
    from api.wallet.service import Ledger

log = logging.getLogger(__name__)

_COLUMNS = (
    "t.id, t.stream_id, t.creator_id, t.title, t.price, t.state, t.created_at, t.started_at, "
    "t.ended_at, t.end_reason"
)
_SOLD = (
    "(SELECT count(*) FROM show_tickets k JOIN ledger_holds h ON h.id = k.hold_id "
    "WHERE k.show_id = t.id AND h.state IN ('held', 'captured'))"
)


@dataclass(frozen=True)
class TicketShow:
    id: uuid.UUID
    stream_id: uuid.UUID
    creator_id: uuid.UUID
    title: str
    price: int
    state: str  # announced | running | ended | cancelled
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    tickets: int  # tickets held or captured

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "creatorId": str(self.creator_id),
            "title": self.title,
            "price": self.price,
            "state": self.state,
            "tickets": self.tickets,
            "createdAt": self.created_at.isoformat(),
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "endReason": self.end_reason,
        }


def _ticket_show(row: Any) -> TicketShow:
    return TicketShow(**{k: row[k] for k in TicketShow.__dataclass_fields__})


async def get(db: Db, show_id: uuid.UUID) -> TicketShow | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, {_SOLD} AS tickets FROM ticket_shows t WHERE t.id = $1", show_id
    )
    return _ticket_show(row) if row else None


async def current(db: Db, stream_id: uuid.UUID) -> TicketShow | None:
    """The stream's announced or running ticket show, if any."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, {_SOLD} AS tickets FROM ticket_shows t "
        "WHERE t.stream_id = $1 AND t.state IN ('announced', 'running')",
        stream_id,
    )
    return _ticket_show(row) if row else None


async def running(db: Db, stream_id: uuid.UUID) -> bool:
    """Whether a ticket show runs on the stream now (the room admits ticket holders only)."""
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM ticket_shows WHERE stream_id = $1 AND state = 'running')",
            stream_id,
        )
    )


async def admitted(db: Db, stream_id: uuid.UUID, viewer: uuid.UUID | None) -> bool:
    """Whether ``viewer`` holds a ticket (captured) to the show running on the stream."""
    if viewer is None:
        return False
    return bool(
        await db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM ticket_shows t JOIN show_tickets k ON k.show_id = t.id "
            "JOIN ledger_holds h ON h.id = k.hold_id WHERE t.stream_id = $1 "
            "AND t.state = 'running' AND k.viewer_id = $2 AND h.state = 'captured')",
            stream_id,
            viewer,
        )
    )


def _owned(show: TicketShow, creator: uuid.UUID) -> None:
    if show.creator_id != creator:
        raise NotStreamOwner("only the show's creator may do this")


class TicketShows:
    """Announce, sell, start, cancel and end ticket shows through the ledger."""

    def __init__(self, ledger: Ledger, *, hold_seconds: int) -> None:
        self.ledger = ledger
        self.pool = ledger.pool
        self.hold_seconds = hold_seconds

    async def announce(
        self, stream_id: uuid.UUID, creator: uuid.UUID, *, title: str, price: int
    ) -> TicketShow:
        """`ShowAlreadyOpen` while another is announced or running on the stream."""
        info = await stream_info(self.pool, stream_id)
        if info.creator_id != creator:
            raise NotStreamOwner("only the stream's creator announces its shows")
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO ticket_shows AS t (id, stream_id, creator_id, title, price) "
                f"VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}, 0::bigint AS tickets",
                uuid.uuid4(),
                stream_id,
                creator,
                title,
                price,
            )
        except asyncpg.UniqueViolationError:
            raise ShowAlreadyOpen(
                "this stream already has a ticket show announced or running",
                meta={"streamId": str(stream_id)},
            ) from None
        return _ticket_show(row)

    async def buy(
        self, key: IdempotencyKey, show_id: uuid.UUID, *, request_id: str | None = None
    ) -> Outcome:
        """Buy a ticket with ``key`` (the viewer's Idempotency-Key): a hold for the price,
        captured at once if the show already runs.

        Returns the reserve's outcome (``INSUFFICIENT_FUNDS`` is stored with the key) with the
        ticket's ``showId`` and ``state`` added. Raises `ShowNotFound`, `SelfPurchase`,
        `TicketSalesClosed`, `AlreadyHasTicket`.
        """
        viewer = key.owner_id
        show = await get(self.pool, show_id)
        if show is None:
            raise ShowNotFound("no such ticket show", meta={"showId": str(show_id)})
        if show.creator_id == viewer:
            raise SelfPurchase("creators cannot buy tickets to their own show")
        if show.state not in ("announced", "running"):
            raise TicketSalesClosed("this show is over", meta={"state": show.state})
        await refuse_if_frozen(self.pool, show.creator_id)  # the kill switch
        outcome = await self.ledger.reserve(
            key,
            amount=show.price,
            purpose=HoldPurpose.TICKET,
            ttl_seconds=self.hold_seconds,
            payee_id=show.creator_id,
            stream_id=show.stream_id,
            ref_id=show.id,
            request_id=request_id,
        )
        if not outcome.ok:
            return outcome
        hold_id = uuid.UUID(outcome.data["holdId"])
        owner = await self.pool.fetchval(
            "INSERT INTO show_tickets (show_id, viewer_id, hold_id) VALUES ($1, $2, $3) "
            # An earlier ticket whose hold expired or was released is replaced; a live one stays.
            "ON CONFLICT (show_id, viewer_id) DO UPDATE SET hold_id = CASE WHEN (SELECT state "
            "FROM ledger_holds WHERE id = show_tickets.hold_id) IN ('held', 'captured') "
            "THEN show_tickets.hold_id ELSE EXCLUDED.hold_id END RETURNING hold_id",
            show.id,
            viewer,
            hold_id,
        )
        if owner != hold_id:
            await self._release(hold_id)  # bought before, with another key
            raise AlreadyHasTicket("you already have a ticket to this show")
        # Re-read after the ticket exists: a start or cancel that ran meanwhile did not see it.
        now = await get(self.pool, show.id)
        state = now.state if now else "cancelled"
        if state == "running":
            await self._capture(hold_id, show.price)
        elif state != "announced":
            await self._release(hold_id)
            raise TicketSalesClosed("this show is over", meta={"state": state})
        hold_state = await self.pool.fetchval(
            "SELECT state FROM ledger_holds WHERE id = $1", hold_id
        )
        data = dict(outcome.data, showId=str(show.id), ticket=hold_state)
        return Outcome(data, replayed=outcome.replayed)

    async def start(self, show_id: uuid.UUID, creator: uuid.UUID) -> TicketShow:
        """The show starts (the stream must be live): every ticket still held is captured."""
        show = await self._get(show_id)
        _owned(show, creator)
        if show.state == "announced":
            await live_stream(self.pool, show.stream_id)
        row = await self.pool.fetchrow(
            "UPDATE ticket_shows SET state = 'running', started_at = now() "
            "WHERE id = $1 AND state = 'announced' RETURNING id",
            show_id,
        )
        if row is None and show.state != "running":
            raise ShowNotPending("the show cannot start now", meta={"state": show.state})
        for hold in await self._held(show_id):
            await self._capture(hold, show.price)
        return await self._get(show_id)

    async def cancel(self, show_id: uuid.UUID, reason: str) -> TicketShow | None:
        """An announced show is cancelled and its tickets released; None if it was not
        announced (a running show ends instead: its tickets were captured at the start)."""
        row = await self.pool.fetchrow(
            "UPDATE ticket_shows SET state = 'cancelled', ended_at = now(), end_reason = $2 "
            "WHERE id = $1 AND state = 'announced' RETURNING id",
            show_id,
            reason,
        )
        if row is None:
            return None
        for hold in await self._held(show_id):
            await self._release(hold)
        return await get(self.pool, show_id)

    async def end(self, show_id: uuid.UUID, reason: str) -> TicketShow | None:
        """A running show ends (the room opens again); None if it was not running."""
        row = await self.pool.fetchrow(
            "UPDATE ticket_shows SET state = 'ended', ended_at = now(), end_reason = $2 "
            "WHERE id = $1 AND state = 'running' RETURNING id",
            show_id,
            reason,
        )
        return await get(self.pool, show_id) if row else None

    async def close_by_creator(self, show_id: uuid.UUID, creator: uuid.UUID) -> TicketShow:
        """The creator's cancel (announced) or end (running)."""
        show = await self._get(show_id)
        _owned(show, creator)
        done = await self.cancel(show_id, "cancelled by the creator") or await self.end(
            show_id, "ended by the creator"
        )
        if done is None:
            raise ShowNotPending("the show is already over", meta={"state": show.state})
        return done

    async def stop_stream(self, stream_id: uuid.UUID, reason: str) -> list[TicketShow]:
        """The kill switch's part: an announced show is cancelled (tickets released), a
        running one ends (its tickets were captured when it started)."""
        done: list[TicketShow] = []
        for row in await self.pool.fetch(
            "SELECT id FROM ticket_shows WHERE stream_id = $1 AND state IN ('announced', "
            "'running')",
            stream_id,
        ):
            show = await self.cancel(row["id"], reason) or await self.end(row["id"], reason)
            if show is not None:
                done.append(show)
        return done

    async def end_running(self, stream_id: uuid.UUID, reason: str) -> list[TicketShow]:
        """The broadcast ended: a running ticket show ends; an announced one is kept (it may
        start on the next broadcast; its tickets expire if it never does)."""
        done: list[TicketShow] = []
        for row in await self.pool.fetch(
            "SELECT id FROM ticket_shows WHERE stream_id = $1 AND state = 'running'", stream_id
        ):
            show = await self.end(row["id"], reason)
            if show is not None:
                done.append(show)
        return done

    async def sweep(self) -> int:
        """The ledger worker's pass: tickets still held for a cancelled or ended show are
        released; for a running show they are captured (a start that stopped half way)."""
        done = 0
        for row in await self.pool.fetch(
            "SELECT h.id, t.state, t.price FROM ledger_holds h JOIN ticket_shows t "
            "ON t.id = h.ref_id WHERE h.purpose = 'ticket' AND h.state = 'held' "
            "AND t.state <> 'announced'"
        ):
            if row["state"] == "running":
                await self._capture(row["id"], row["price"])
            else:
                await self._release(row["id"])
            done += 1
        return done

    async def _get(self, show_id: uuid.UUID) -> TicketShow:
        show = await get(self.pool, show_id)
        if show is None:
            raise ShowNotFound("no such ticket show", meta={"showId": str(show_id)})
        return show

    async def _held(self, show_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.pool.fetch(
            "SELECT id FROM ledger_holds WHERE ref_id = $1 AND purpose = 'ticket' "
            "AND state = 'held'",
            show_id,
        )
        return [r["id"] for r in rows]

    async def _capture(self, hold_id: uuid.UUID, price: int) -> None:
        try:
            await self.ledger.capture(hold_id, price)
        except HoldNotActive:
            log.info("ticket hold already ended", extra={"hold_id": str(hold_id)})

    async def _release(self, hold_id: uuid.UUID) -> None:
        try:
            await self.ledger.release(hold_id)
        except HoldNotActive:
            log.info("ticket hold already ended", extra={"hold_id": str(hold_id)})
