"""The caller-visible errors of affiliates."""

from __future__ import annotations

from teezu.errors import Invalid, NotFound


class ReferralCodeNotFound(NotFound):
    code = "REFERRAL_CODE_NOT_FOUND"


class SelfReferral(Invalid):
    """Nobody refers themself (the code's owner signing up another account, or their own
    e-mail under an alias)."""

    code = "SELF_REFERRAL"
