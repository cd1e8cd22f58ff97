"""The rules of provider services and bookings, as pure functions (no I/O; times passed in).

* **Slots** are entered in the provider's time zone (a wall-clock start and a length) and
  stored as instants: `slot_instant` refuses a wall-clock time that does not exist there (the
  hour skipped when clocks go forward) and picks the first of a time that happens twice.
* **Cancellation policy** (shown with the service and copied onto each booking when it is
  made): free until ``free_cancel_hours`` before the start; later, the member pays
  ``late_cancel_percent`` of the price (`cancellation_charge`). A provider who declines or
  cancels never charges the member, and a request the provider has not accepted yet is
  cancelled free.
* **Limited streaming** (the RBAC matrix's "Upload / Stream: Limited" for providers): a
  provider may go live only for an accepted booking, from `EARLY_START` before its slot to the
  slot's end (`may_go_live`), and only the booker is admitted to watch (`admits`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EARLY_START = timedelta(minutes=10)
COMPLETION_GRACE = timedelta(days=7)  # a booking's hold outlives its slot by this much
MAX_AHEAD = timedelta(days=366)  # slots open at most this far ahead (a hold's life is bounded)
LIVE_STATES = ("requested", "accepted", "completed")  # states that take the slot


class SlotTimeError(ValueError):
    """A wall-clock time that does not exist in the zone."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; `ValueError` for an unknown one. The first load of a zone reads
    the tz database from disk: call it off the event loop (`api.services.routes.zones`)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def slot_instant(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of the naive wall-clock time ``local`` in ``tz``.

    Raises `SlotTimeError` when that wall-clock time is skipped (a DST gap); of a repeated
    time (clocks going back) the first is taken."""
    if local.tzinfo is not None:
        raise SlotTimeError("give the start as wall-clock time, without an offset")
    first = local.replace(tzinfo=tz, fold=0)
    try:
        instant = first.astimezone(UTC)
        back = instant.astimezone(tz).replace(tzinfo=None)
    except OverflowError:
        raise SlotTimeError(f"{local.isoformat()} is out of range") from None
    if back != local:
        raise SlotTimeError(f"{local.isoformat()} does not exist in {tz.key}")
    return instant


def local_time(instant: datetime, tz: ZoneInfo) -> str:
    """An instant as the provider's wall-clock time with its offset (ISO 8601)."""
    return instant.astimezone(tz).isoformat(timespec="minutes")


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    free_cancel_hours: int
    late_cancel_percent: int


def cancellation_charge(
    policy: CancellationPolicy,
    price: int,
    *,
    now: datetime,
    starts_at: datetime,
    by_member: bool,
    accepted: bool,
) -> int:
    """Tokens the member pays when a booking is cancelled now (the rest is released)."""
    if not by_member or not accepted:
        return 0
    if starts_at - now >= timedelta(hours=policy.free_cancel_hours):
        return 0
    return min(price, math.ceil(price * policy.late_cancel_percent / 100))


def may_complete(now: datetime, starts_at: datetime) -> bool:
    """A booking is completed (and paid) once its slot has begun."""
    return now >= starts_at


def hold_ttl_seconds(now: datetime, ends_at: datetime) -> int:
    """How long a booking's hold lives: to the slot's end plus `COMPLETION_GRACE`."""
    return max(1, math.ceil((ends_at + COMPLETION_GRACE - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class BookedSession:
    """What the live-streaming rule reads of a booking."""

    state: str
    member_id: object
    starts_at: datetime
    ends_at: datetime


def may_go_live(session: BookedSession, now: datetime) -> bool:
    """A provider may stream for ``session`` now: accepted, and within its window."""
    return session.state == "accepted" and session.starts_at - EARLY_START <= now < session.ends_at


def admits(session: BookedSession, viewer: object, now: datetime) -> bool:
    """Who may watch a provider's session stream: its booker, while it may be live."""
    return viewer == session.member_id and may_go_live(session, now)
