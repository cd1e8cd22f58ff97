"""Errors of subscriptions; each names one caller-visible case with a stable code."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import BadRequest, Conflict, Forbidden, NotFound, TeezuError


class SubscriptionError(TeezuError):
    """Root of the subscriptions' errors."""


class CreatorNotFound(SubscriptionError, NotFound):
    code = "CREATOR_NOT_FOUND"


class TierNotFound(SubscriptionError, NotFound):
    code = "TIER_NOT_FOUND"


class TierNotAvailable(SubscriptionError, Conflict):
    """The tier is retired: no new subscribers (existing ones renew)."""

    code = "TIER_NOT_AVAILABLE"


class NotTierOwner(SubscriptionError, Forbidden):
    code = "NOT_TIER_OWNER"


class NotCreator(SubscriptionError, Forbidden):
    """Only the creator (or an admin) sees their subscribers."""

    code = "NOT_CREATOR"


class AlreadySubscribed(SubscriptionError, Conflict):
    code = "ALREADY_SUBSCRIBED"


class SelfSubscribe(SubscriptionError, BadRequest):
    status = 422
    code = "CANNOT_SUBSCRIBE_SELF"


class SubscriptionNotFound(SubscriptionError, NotFound):
    code = "SUBSCRIPTION_NOT_FOUND"


class SubscriptionNotActive(SubscriptionError, Conflict):
    """The subscription has already ended (expired, or cancelled and over)."""

    code = "SUBSCRIPTION_NOT_ACTIVE"


# ``{creator_id}``, ``{tier_id}`` and ``{subscription_id}`` in a path: malformed ones are
# unknown ones.
CREATOR_ID = IdParam(CreatorNotFound, "no such creator", "id")
TIER_ID = IdParam(TierNotFound, "no such tier", "id")
SUBSCRIPTION_ID = IdParam(SubscriptionNotFound, "no such subscription", "id")
