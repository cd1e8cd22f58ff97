"""Errors of memberships; each names one caller-visible case with a stable code."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import Conflict, Forbidden, NotFound, TeezuError, TooManyRequests


class MembershipError(TeezuError):
    """Root of the memberships' errors."""


class PlanNotFound(MembershipError, NotFound):
    code = "PLAN_NOT_FOUND"


class PlanNotForYou(MembershipError, Forbidden):
    """Creator+ is for accounts that may stream."""

    code = "PLAN_NOT_AVAILABLE"


class AlreadyMember(MembershipError, Conflict):
    """A live membership of the same kind exists (cancel it first; it runs to its end)."""

    code = "ALREADY_MEMBER"


class MembershipNotFound(MembershipError, NotFound):
    code = "MEMBERSHIP_NOT_FOUND"


class MembershipNotActive(MembershipError, Conflict):
    code = "MEMBERSHIP_NOT_ACTIVE"


MEMBERSHIP_ID = IdParam(MembershipNotFound, "no such membership", "id")


class DmLimitReached(MembershipError, TooManyRequests):
    """The account's tier allows no more direct messages in these 24 hours."""

    code = "DM_LIMIT_REACHED"


class TierLimitReached(MembershipError, Conflict):
    """A creator keeps this many active subscription tiers at most (more with Creator+)."""

    code = "TIER_LIMIT_REACHED"
