"""Private shows billed per minute: a hold that grows a minute at a time, captured at the end.

A viewer asks for a private show at the creator's per-minute price; the creator accepts. The
accept reserves the first minute (a `private_show` hold on the viewer's wallet, with the
stream id and the show as ``ref_id``); then this node's billing task for the show extends the
hold by one minute's price at each minute boundary. The show ends exactly once, by one
conditional ``UPDATE private_shows … WHERE state = 'running'`` that also fixes what is charged
(``charged``); the hold is then captured for that (the creator's split under the fee schedule)
and the rest goes back to the viewer. Who ends it:

* either side (`PrivateShows.end`): every minute begun is charged (it was reserved when it
  began);
* the viewer's wallet cannot pay the next minute: the minutes billed so far are charged;
* the kill switch (`api.wallet.killswitch.stop_billing`: safe word, consent revocation,
  moderation freeze) and a node restart: only the minutes completed are charged, the minute
  in progress goes back to the viewer.

Every money call has an idempotency key: minute ``n`` of show ``s`` is the viewer's key
``private-show:{s}:minute:{n}``, so a retried extension moves nothing twice. One task per
show on the node that accepted it (`ShowBilling`), cancelled when the show stops. If that node
dies, nobody extends the hold: it expires after ``hold_ttl`` and the ledger worker releases
it (`sweep` then records the show as ended); a show ended whose capture did not happen is
captured by `sweep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from api.wallet.errors import (
    HoldNotActive,
    InsufficientFunds,
    NotShowParty,
    SelfPurchase,
    ShowAlreadyOpen,
    ShowNotPending,
    ShowPriceChanged,
    ShowPriceNotSet,
    WalletError,
)
from api.wallet.model import HoldPurpose, IdempotencyKey
from api.wallet.streams import live_stream, stream_info
from teezu.clock import monotonic_ms, sleep_ms

if TYPE_CHECKING:
    from api.wallet.service import Ledger

log = logging.getLogger(__name__)

_COLUMNS = (
    "id, stream_id, creator_id, viewer_id, price_per_minute, state, hold_id, billed_minutes, "
    "charged, end_reason, created_at, started_at, ended_at"
)


@dataclass(frozen=True)
class PrivateShow:
    id: uuid.UUID
    stream_id: uuid.UUID
    creator_id: uuid.UUID
    viewer_id: uuid.UUID
    price_per_minute: int
    state: str  # requested | running | ended | declined | cancelled
    hold_id: uuid.UUID | None
    billed_minutes: int  # minutes reserved so far
    charged: int | None  # what the hold is captured for, once ended
    end_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "streamId": str(self.stream_id),
            "creatorId": str(self.creator_id),
            "viewerId": str(self.viewer_id),
            "pricePerMinute": self.price_per_minute,
            "state": self.state,
            "holdId": str(self.hold_id) if self.hold_id else None,
            "billedMinutes": self.billed_minutes,
            "charged": self.charged,
            "endReason": self.end_reason,
            "createdAt": self.created_at.isoformat(),
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
        }


def _show(row: Any) -> PrivateShow:
    return PrivateShow(**{k: row[k] for k in PrivateShow.__dataclass_fields__})


def minute_key(show_id: uuid.UUID, minute: int) -> str:
    """The viewer's idempotency key for reserving minute ``minute`` (1-based) of a show."""
    return f"private-show:{show_id}:minute:{minute}"


def hold_ttl(interval_ms: int) -> int:
    """Seconds a show's hold lives past its last extension: three minutes' worth (rounded up)
    plus one second, so a billing task that is only late never loses it, and one that died
    lets it expire soon."""
    return -(-interval_ms * 3 // 1000) + 1


class PrivateShows:
    """The node's private shows: requests, accept, end, and one billing task per show."""

    def __init__(self, ledger: Ledger, *, interval_ms: int, node_id: str) -> None:
        self.ledger = ledger
        self.pool = ledger.pool
        self.interval_ms = interval_ms  # the billing "minute" (shorter in tests)
        self.node_id = node_id
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._streams: dict[uuid.UUID, uuid.UUID] = {}  # show -> stream, for the kill switch

    # ---- prices -------------------------------------------------------------------------
    async def set_price(self, creator: uuid.UUID, per_minute: int | None) -> int | None:
        await self.pool.execute(
            "INSERT INTO show_prices (creator_id, private_per_minute) VALUES ($1, $2) "
            "ON CONFLICT (creator_id) DO UPDATE SET "
            "private_per_minute = EXCLUDED.private_per_minute, updated_at = now()",
            creator,
            per_minute,
        )
        return per_minute

    async def price(self, creator: uuid.UUID | None) -> int | None:
        if creator is None:
            return None
        value: int | None = await self.pool.fetchval(
            "SELECT private_per_minute FROM show_prices WHERE creator_id = $1", creator
        )
        return value

    # ---- reading ------------------------------------------------------------------------
    async def get(self, show_id: uuid.UUID) -> PrivateShow | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM private_shows WHERE id = $1", show_id
        )
        return _show(row) if row else None

    async def running_on(self, stream_id: uuid.UUID) -> PrivateShow | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM private_shows WHERE stream_id = $1 AND state = 'running'",
            stream_id,
        )
        return _show(row) if row else None

    async def open_on(self, stream_id: uuid.UUID) -> list[PrivateShow]:
        """A stream's requested and running private shows, oldest first (the creator's queue)."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM private_shows WHERE stream_id = $1 "
            "AND state IN ('requested', 'running') ORDER BY created_at",
            stream_id,
        )
        return [_show(r) for r in rows]

    # ---- requests -----------------------------------------------------------------------
    async def request(
        self, stream_id: uuid.UUID, viewer: uuid.UUID, price_per_minute: int
    ) -> PrivateShow:
        """A viewer asks for a private show at ``price_per_minute`` (the price they were shown).

        Refusals: `StreamNotFound`, `StreamNotLive`/`StreamFrozen`, `SelfPurchase`,
        `ShowPriceNotSet`, `ShowPriceChanged`, `InsufficientFunds` (cannot pay one minute:
        nothing moves yet, the accept's reserve is the real gate), `ShowAlreadyOpen`.
        """
        stream = await live_stream(self.pool, stream_id)
        if stream.creator_id == viewer:
            raise SelfPurchase("creators cannot book their own private show")
        price = await self.price(stream.creator_id)
        if price is None:
            raise ShowPriceNotSet("this creator does not take private shows")
        if price != price_per_minute:
            raise ShowPriceChanged(
                "the creator's price is not the one sent",
                meta={"price": price, "pricePerMinute": price_per_minute},
            )
        balance = (await self.ledger.wallet(viewer)).balance
        if balance < price:
            raise InsufficientFunds(
                "not enough tokens for one minute", meta={"amount": price, "balance": balance}
            )
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO private_shows (id, stream_id, creator_id, viewer_id, "
                f"price_per_minute) VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
                uuid.uuid4(),
                stream_id,
                stream.creator_id,
                viewer,
                price,
            )
        except asyncpg.UniqueViolationError:
            raise ShowAlreadyOpen(
                "you already asked this creator for a private show",
                meta={"streamId": str(stream_id)},
            ) from None
        return _show(row)

    async def accept(self, show: PrivateShow, creator: uuid.UUID) -> PrivateShow:
        """The creator accepts: the first minute is reserved and billing starts.

        Refusals: `NotShowParty`, `ShowNotPending`, `StreamNotLive`/`StreamFrozen`,
        `ShowAlreadyOpen` (already in a private show), `InsufficientFunds` (the request is then
        cancelled with reason ``insufficient_funds``).
        """
        if show.creator_id != creator:
            raise NotShowParty("only the creator accepts a private show")
        if show.state == "running":
            return show  # a retried accept
        if show.state != "requested":
            raise ShowNotPending("the request is no longer pending", meta={"state": show.state})
        await live_stream(self.pool, show.stream_id)
        running = await self.running_on(show.stream_id)
        if running is not None:
            if running.id == show.id:
                return running  # a concurrent accept of this request started it
            raise ShowAlreadyOpen("you are already in a private show")
        outcome = await self.ledger.reserve(
            IdempotencyKey(show.viewer_id, minute_key(show.id, 1)),
            amount=show.price_per_minute,
            purpose=HoldPurpose.PRIVATE_SHOW,
            ttl_seconds=hold_ttl(self.interval_ms),
            payee_id=show.creator_id,
            stream_id=show.stream_id,
            ref_id=show.id,
        )
        if not outcome.ok:
            await self.pool.execute(
                "UPDATE private_shows SET state = 'cancelled', ended_at = now(), "
                "end_reason = 'insufficient_funds' WHERE id = $1 AND state = 'requested'",
                show.id,
            )
            raise InsufficientFunds("the viewer cannot pay the first minute", meta=outcome.data)
        hold_id = uuid.UUID(outcome.data["holdId"])
        try:
            row = await self.pool.fetchrow(
                "UPDATE private_shows SET state = 'running', hold_id = $2, billed_minutes = 1, "
                "started_at = now(), node_id = $3 WHERE id = $1 AND state = 'requested' "
                f"RETURNING {_COLUMNS}",
                show.id,
                hold_id,
                self.node_id,
            )
        except asyncpg.UniqueViolationError:
            row = None  # another show started on the stream meanwhile
        if row is None:
            now = await self.get(show.id)
            if now is not None and now.state == "running" and now.hold_id == hold_id:
                return now  # a concurrent accept of the same request won
            await self._settle(hold_id, 0)
            raise ShowNotPending(
                "the request changed meanwhile", meta={"state": now.state if now else None}
            )
        started = _show(row)
        self._start_billing(started)
        # A freeze or the broadcast's end that ran between our check and the start did not
        # see this show: look again now that it is running (the kill switch sees it if later).
        try:
            await live_stream(self.pool, show.stream_id)
        except WalletError:
            await self.finish(show.id, "stream stopped", completed_only=True)
            raise
        return started

    async def end(self, show: PrivateShow, by: uuid.UUID, *, admin: bool = False) -> PrivateShow:
        """Either side ends it: a pending request is declined (creator) or cancelled (viewer);
        a running show ends, charging every minute begun."""
        if by not in (show.creator_id, show.viewer_id) and not admin:
            raise NotShowParty("only the show's creator and viewer can end it")
        if show.state == "requested":
            state = "declined" if by == show.creator_id else "cancelled"
            row = await self.pool.fetchrow(
                "UPDATE private_shows SET state = $2, ended_at = now(), end_reason = $3 "
                f"WHERE id = $1 AND state = 'requested' RETURNING {_COLUMNS}",
                show.id,
                state,
                state,
            )
            if row is not None:
                return _show(row)
            show = await self.get(show.id) or show
        if show.state == "running":
            reason = "ended by the creator" if by == show.creator_id else "ended by the viewer"
            ended = await self.finish(show.id, reason, completed_only=False)
            if ended is not None:
                return ended
            show = await self.get(show.id) or show
        if show.state in ("ended", "declined", "cancelled"):
            return show  # already over: ending twice is a no-op
        raise ShowNotPending("the show cannot be ended now", meta={"state": show.state})

    # ---- ending -------------------------------------------------------------------------
    async def finish(
        self, show_id: uuid.UUID, reason: str, *, completed_only: bool
    ) -> PrivateShow | None:
        """End a running show exactly once and settle its hold; None if it was not running.

        ``completed_only``: charge the minutes completed so far (kill switch, restart), else
        every minute begun. Never more than the minutes reserved.
        """
        self._cancel_task(show_id)
        row = await self.pool.fetchrow(
            "UPDATE private_shows SET state = 'ended', ended_at = now(), end_reason = $2, "
            "charged = price_per_minute * CASE WHEN $3 THEN least(billed_minutes, "
            "  floor(extract(epoch FROM now() - started_at) * 1000 / $4)::int) "
            "  ELSE billed_minutes END "
            f"WHERE id = $1 AND state = 'running' RETURNING {_COLUMNS}",
            show_id,
            reason,
            completed_only,
            self.interval_ms,
        )
        if row is None:
            return None
        show = _show(row)
        assert show.hold_id is not None and show.charged is not None
        await self._settle(show.hold_id, show.charged)
        log.info(
            "private show ended",
            extra={"show_id": str(show_id), "reason": reason, "charged": show.charged},
        )
        return show

    async def stop_stream(self, stream_id: uuid.UUID, reason: str) -> list[PrivateShow]:
        """The kill switch's part: cancel this node's billing of the stream's shows at once,
        end the running one (completed minutes only) and cancel pending requests."""
        stopping = [
            task
            for show_id, sid in list(self._streams.items())
            if sid == stream_id and (task := self._cancel_task(show_id)) is not None
        ]
        # Wait for them: when this returns, no extension of this node is still in flight.
        for task in stopping:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        ended: list[PrivateShow] = []
        for row in await self.pool.fetch(
            "SELECT id FROM private_shows WHERE stream_id = $1 AND state = 'running'", stream_id
        ):
            show = await self.finish(row["id"], reason, completed_only=True)
            if show is not None:
                ended.append(show)
        for row in await self.pool.fetch(
            "UPDATE private_shows SET state = 'cancelled', ended_at = now(), end_reason = $2 "
            f"WHERE stream_id = $1 AND state = 'requested' RETURNING {_COLUMNS}",
            stream_id,
            reason,
        ):
            ended.append(_show(row))
        return ended

    async def _settle(self, hold_id: uuid.UUID, charged: int) -> None:
        try:
            if charged > 0:
                await self.ledger.capture(hold_id, charged)
            else:
                await self.ledger.release(hold_id)
        except HoldNotActive:
            # Expired (the worker releases it) or ended by someone else: it ended once.
            log.warning("private show hold already ended", extra={"hold_id": str(hold_id)})

    # ---- billing ------------------------------------------------------------------------
    def _start_billing(self, show: PrivateShow) -> None:
        if show.id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(
            self._bill(show), name=f"private-show-billing-{show.id}"
        )
        self._tasks[show.id] = task
        self._streams[show.id] = show.stream_id
        task.add_done_callback(lambda _t: self._forget(show.id, task))

    def _forget(self, show_id: uuid.UUID, task: asyncio.Task[None]) -> None:
        if self._tasks.get(show_id) is task:
            del self._tasks[show_id]
            self._streams.pop(show_id, None)

    def _cancel_task(self, show_id: uuid.UUID) -> asyncio.Task[None] | None:
        task = self._tasks.pop(show_id, None)
        self._streams.pop(show_id, None)
        if task is None or task is asyncio.current_task():
            return None
        task.cancel()
        return task

    def billing(self, stream_id: uuid.UUID) -> list[uuid.UUID]:
        """The shows of ``stream_id`` this node is billing now."""
        return [s for s, sid in self._streams.items() if sid == stream_id]

    async def _bill(self, show: PrivateShow) -> None:
        """Extend the hold by one minute at each minute boundary until the show ends."""
        assert show.hold_id is not None
        began = monotonic_ms()
        minute = show.billed_minutes  # minutes reserved; minute + 1 is reserved at its start
        try:
            while True:
                await sleep_ms(began + minute * self.interval_ms - monotonic_ms())
                # Belt and braces for a stop this node missed (the kill switch ends the show
                # itself): never bill a minute on a stream that is frozen or no longer live.
                stream = await stream_info(self.pool, show.stream_id)
                if stream.state != "live" or stream.frozen:
                    await self.finish(show.id, "stream stopped", completed_only=True)
                    return
                outcome = await self.ledger.extend_hold(
                    IdempotencyKey(show.viewer_id, minute_key(show.id, minute + 1)),
                    show.hold_id,
                    amount=show.price_per_minute,
                    ttl_seconds=hold_ttl(self.interval_ms),
                )
                if not outcome.ok:
                    reason = (
                        "insufficient_funds"
                        if outcome.error == "INSUFFICIENT_FUNDS"
                        else "hold ended"
                    )
                    await self.finish(show.id, reason, completed_only=False)
                    return
                counted = await self.pool.fetchval(
                    "UPDATE private_shows SET billed_minutes = $2 "
                    "WHERE id = $1 AND state = 'running' AND billed_minutes = $3 RETURNING 1",
                    show.id,
                    minute + 1,
                    minute,
                )
                if counted is None:
                    return  # ended meanwhile: its end charged what was counted before
                minute += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # A database hiccup must not bill forever or never: end it with what is counted.
            log.exception("private show billing failed", extra={"show_id": str(show.id)})
            with contextlib.suppress(Exception):
                await self.finish(show.id, "billing failed", completed_only=True)

    # ---- housekeeping -------------------------------------------------------------------
    async def end_orphans(self) -> int:
        """At start-up: shows this node was billing before it restarted end (completed
        minutes only); returns how many."""
        rows = await self.pool.fetch(
            "SELECT id FROM private_shows WHERE state = 'running' AND node_id = $1", self.node_id
        )
        done = 0
        for row in rows:
            if row["id"] not in self._tasks and await self.finish(
                row["id"], "node restarted", completed_only=True
            ):
                done += 1
        return done

    async def sweep(self) -> int:
        """The ledger worker's pass: a running show whose hold is gone (its node died, the
        hold expired) is recorded as ended; an ended show whose hold is still held is
        captured. Returns how many shows it touched."""
        done = 0
        for row in await self.pool.fetch(
            "UPDATE private_shows p SET state = 'ended', ended_at = now(), charged = 0, "
            "end_reason = 'hold ' || h.state FROM ledger_holds h "
            "WHERE h.id = p.hold_id AND p.state = 'running' AND h.state <> 'held' "
            "RETURNING p.id"
        ):
            self._cancel_task(row["id"])
            done += 1
        for row in await self.pool.fetch(
            # From the held holds (few, indexed), not from every show that ever ended.
            "SELECT p.hold_id, p.charged FROM ledger_holds h JOIN private_shows p "
            "ON p.id = h.ref_id AND p.hold_id = h.id "
            "WHERE h.state = 'held' AND h.purpose = 'private_show' AND p.state = 'ended'"
        ):
            await self._settle(row["hold_id"], row["charged"])
            done += 1
        return done

    async def close(self) -> None:
        """Node shutdown: the shows it bills end now (completed minutes only)."""
        for show_id in list(self._tasks):
            with contextlib.suppress(Exception):
                await self.finish(show_id, "node stopped", completed_only=True)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
