"""When earnings become withdrawable (pure rules; `api.wallet.payouts` reads the ledger).

The rule: an earning (the creator's credit from a tip or a hold capture) matures
``days`` after its ledger transaction's ``created_at``, where ``days`` is

* ``new_creator_days_hold`` (default 30) while the earner's account is younger than
  ``new_creator_age`` days (default 90), or has no user row at all;
* ``days_hold`` (default 7) otherwise.

The rule is applied as of the moment of the calculation: once an account is old enough, every
earning older than the shorter hold is withdrawable. Everything that takes tokens out of
earnings (chargeback reversals, payout requests) counts at once, whatever its age, so

    available = balance - immature credits   (never below 0)

where the balance is the earnings account's derived balance (matured and immature credits,
minus reversals, minus payouts requested, plus payouts rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class MaturityPolicy:
    """The hold periods, in whole days (from settings)."""

    days_hold: int = 7
    new_creator_days_hold: int = 30
    new_creator_age: int = 90

    def hold_days(self, account_created: datetime | None, now: datetime) -> int:
        """The hold period that applies to an earner whose account was created then."""
        if account_created is None or now - account_created < timedelta(days=self.new_creator_age):
            return self.new_creator_days_hold
        return self.days_hold

    def cutoff(self, account_created: datetime | None, now: datetime) -> datetime:
        """Earnings created at or before this moment have matured."""
        return now - timedelta(days=self.hold_days(account_created, now))


def available(balance: int, immature: int) -> int:
    """Withdrawable tokens: the balance less what has not matured yet (never negative)."""
    return max(0, balance - immature)
