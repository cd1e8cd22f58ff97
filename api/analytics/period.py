"""The hub's period filter: a named period (``7d``, ``30d``, ``90d``, ``365d``) or explicit
``from``/``to`` dates (UTC days, both included). Pure: checked here, answered 400 by the routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from teezu.errors import BadRequest

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "365d": 365}
MAX_DAYS = 400  # longest range one answer covers


class InvalidPeriod(BadRequest):
    code = "INVALID_PERIOD"


class InvalidRange(BadRequest):
    code = "INVALID_RANGE"


class RangeTooLarge(BadRequest):
    code = "RANGE_TOO_LARGE"


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def resolve(period: str | None, first: date | None, last: date | None, today: date) -> Period:
    """The days asked for. Raises `InvalidPeriod` (unknown name, or a name with dates),
    `InvalidRange` (``from`` after ``to``) or `RangeTooLarge` (more than `MAX_DAYS`)."""
    if period is not None and (first is not None or last is not None):
        raise InvalidPeriod("give either `period` or `from`/`to`, not both")
    if first is None and last is None:
        name = period or "30d"
        if name not in PERIODS:
            raise InvalidPeriod(f"unknown period {name[:20]!r}", meta={"known": list(PERIODS)})
        return Period(today - timedelta(days=PERIODS[name] - 1), today)
    last = last or today
    if first is None:
        if last - date.min < timedelta(days=29):  # no 30 days before year 1 (OverflowError)
            raise InvalidRange("`to` is too early", meta={"to": last.isoformat()})
        first = last - timedelta(days=29)
    if first > last:
        raise InvalidRange(
            "`from` is after `to`", meta={"from": first.isoformat(), "to": last.isoformat()}
        )
    found = Period(first, last)
    if found.days > MAX_DAYS:
        raise RangeTooLarge(
            f"at most {MAX_DAYS} days per answer", meta={"days": found.days, "max": MAX_DAYS}
        )
    return found
