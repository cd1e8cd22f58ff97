"""Versioned fee schedules and the split of a tip between creator, platform and referrer (pure).

Rounding rule (``platform_rounding``, part of each schedule's version):

- ``ceil`` (every schedule from ``2026-12`` on): the platform's share, which includes the
  referral share, is ``ceil(amount * platform_bps / 10000)``, so any tip of at least one token
  pays at least one token of fee when ``platform_bps > 0``. Rounding up cannot be gamed by
  splitting: ``ceil(x) + ceil(y) >= ceil(x + y)``, so for any split of an amount into tips the
  platform's shares add up to at least the share of the whole amount (proved by a hypothesis
  property in ``tests/unit/test_fees.py``). Under ``floor``, twenty 4-token tips paid no fee
  where one 80-token tip paid 16.
- ``floor`` (the first schedule, ``2026-01``, kept to recompute and reverse its splits): the
  platform's share is ``floor(amount * platform_bps / 10000)``.

Under both, the referral share, when the creator was referred, is
``floor(amount * referral_bps / 10000)`` and is carved out of the platform's share (so the
referrer, not the platform, is what splitting a tip can shrink); the creator gets the rest.
The three shares are whole tokens that sum exactly to the amount, and the creator's and
referrer's shares never decrease as the amount grows.

A schedule never changes once used: a new schedule is a new version, and every split
transaction records the version it used, so old transactions can be recomputed and reversed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BPS = 10_000


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    version: str
    creator_bps: int
    platform_bps: int
    referral_bps: int
    platform_rounding: Literal["floor", "ceil"] = "ceil"

    def __post_init__(self) -> None:
        if self.platform_rounding not in ("floor", "ceil"):
            raise ValueError(f"platform_rounding is floor or ceil, got {self.platform_rounding!r}")
        for name in ("creator_bps", "platform_bps", "referral_bps"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= BPS:
                raise ValueError(f"{name} must be an int in 0..{BPS}, got {value!r}")
        if self.creator_bps + self.platform_bps != BPS:
            raise ValueError("creator_bps + platform_bps must be 10000")
        if self.referral_bps > self.platform_bps:
            raise ValueError("the referral share is part of the platform's share")


@dataclass(frozen=True, slots=True)
class Split:
    creator: int
    platform: int
    referral: int

    @property
    def total(self) -> int:
        return self.creator + self.platform + self.referral

    def __sub__(self, other: Split) -> Split:
        return Split(
            self.creator - other.creator,
            self.platform - other.platform,
            self.referral - other.referral,
        )


def split(amount: int, schedule: FeeSchedule, *, referred: bool) -> Split:
    """Split ``amount`` tokens under ``schedule`` (see the module's rounding rule)."""
    if type(amount) is not int or amount < 0:
        raise ValueError(f"amount must be a non-negative int, got {amount!r}")
    if schedule.platform_rounding == "ceil":
        platform_total = -(-amount * schedule.platform_bps // BPS)
    else:
        platform_total = amount * schedule.platform_bps // BPS
    referral = amount * schedule.referral_bps // BPS if referred else 0
    return Split(
        creator=amount - platform_total, platform=platform_total - referral, referral=referral
    )


def reversal_split(
    amount: int, already_reversed: int, reversing: int, schedule: FeeSchedule, *, referred: bool
) -> Split:
    """The shares to take back when ``reversing`` more tokens of a split of ``amount`` are
    reversed, ``already_reversed`` having been reversed before.

    Computed as a difference of cumulative splits, so a transaction reversed in several parts
    gives back exactly its original split in total, and the creator's and referrer's parts of
    each piece are never negative. (The platform's part of one piece may be off by one token
    either way; the total is exact.)
    """
    if not 0 <= already_reversed <= already_reversed + reversing <= amount or reversing < 0:
        raise ValueError(
            f"cannot reverse {reversing} of {amount} with {already_reversed} already reversed"
        )
    before = split(already_reversed, schedule, referred=referred)
    after = split(already_reversed + reversing, schedule, referred=referred)
    return after - before
