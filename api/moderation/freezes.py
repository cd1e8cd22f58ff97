"""Who may lift a freeze: pure, from the reason the freeze was recorded with.

* A freeze a performer caused (the safe word, a revoked consent) protects the performers: only
  the creator's explicit confirmation lifts it (``POST /streams/{id}/resume``, which also checks
  that every performer consents again). A moderator cannot override it: that would put a
  performer back on camera without their say.
* Every other freeze is moderation's (automated: ``"moderation: LABEL 0.81"``; a moderator's
  removal: ``"removed by moderation (...)"``; anything unknown, to be safe): only a moderator
  lifts it (``POST /streams/{id}/unfreeze``); the creator's ``/resume`` is refused.
"""

from __future__ import annotations

from typing import Literal

PERFORMER_REASONS = frozenset({"safe word", "consent revoked"})

Lifter = Literal["creator", "moderator"]


def who_lifts(reason: str | None) -> Lifter:
    """``"creator"`` for a performer's freeze, ``"moderator"`` for every other."""
    return "creator" if (reason or "").strip().lower() in PERFORMER_REASONS else "moderator"
