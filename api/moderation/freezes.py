"""Who may lift a freeze: pure, from the reason the freeze was recorded with.

* A freeze a performer caused (the safe word, a revoked consent) protects the performers: only
  the creator's explicit confirmation lifts it (``POST /streams/{id}/resume``, which also checks
  that every performer consents again). A moderator cannot override it: that would put a
  performer back on camera without their say.
* Every other freeze is moderation's (automated: ``"moderation: LABEL 0.81"``; a moderator's
  removal: ``"removed by moderation (...)"``; anything unknown, to be safe): only a moderator
  lifts it (``POST /streams/{id}/unfreeze``); the creator's ``/resume`` is refused.

A freeze also decides the next go-live (`before_go_live`): moderation's freeze outlives the
broadcast (reconnecting must not get round it), a performer's ends with it (the next broadcast
needs every performer's new consent check-in, which says more than a resume would).
"""

from __future__ import annotations

from typing import Literal

from api.moderation.errors import StreamFrozen

PERFORMER_REASONS = frozenset({"safe word", "consent revoked"})

Lifter = Literal["creator", "moderator"]


def who_lifts(reason: str | None) -> Lifter:
    """``"creator"`` for a performer's freeze, ``"moderator"`` for every other."""
    return "creator" if (reason or "").strip().lower() in PERFORMER_REASONS else "moderator"


def before_go_live(frozen: bool, reason: str | None) -> bool:
    """Whether a new broadcast must first clear a performer's freeze left by the last one.

    Raises `StreamFrozen` while moderation's freeze stands.
    """
    if not frozen:
        return False
    if who_lifts(reason) == "moderator":
        raise StreamFrozen(
            "moderation froze this stream: it goes live again once a moderator lifts the freeze",
            meta={"reason": reason},
        )
    return True
