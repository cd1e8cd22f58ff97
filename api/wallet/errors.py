"""Errors of the token economy; each names one caller-visible case with a stable code."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import BadRequest, Conflict, Forbidden, NotFound, TeezuError, Unauthorized


class WalletError(TeezuError):
    """Root of the wallet's errors."""


class UnbalancedTransaction(WalletError, ValueError):
    """A transaction that would break invariant 2; a bug, never the caller's input."""

    status = 500
    code = "LEDGER_UNBALANCED"


class InsufficientFunds(WalletError):
    status = 402
    code = "INSUFFICIENT_FUNDS"


class StreamNotLive(WalletError, Conflict):
    code = "STREAM_NOT_LIVE"


class StreamFrozen(WalletError, Conflict):
    """The stream is on the slate (safe word, consent revoked, moderation): nothing is sold."""

    code = "STREAM_FROZEN"


class StreamNotFound(WalletError, NotFound):
    code = "STREAM_NOT_FOUND"


class CreatorNotPayable(WalletError, Conflict):
    """The stream has no creator account to pay (made before accounts existed)."""

    code = "CREATOR_NOT_PAYABLE"


class UnknownItem(WalletError, NotFound):
    code = "UNKNOWN_ITEM"


class AmountOutOfRange(WalletError, BadRequest):
    status = 422
    code = "AMOUNT_OUT_OF_RANGE"


class SelfTip(WalletError, BadRequest):
    status = 422
    code = "CANNOT_TIP_SELF"


class IdempotencyKeyRequired(WalletError, BadRequest):
    code = "IDEMPOTENCY_KEY_REQUIRED"


class IdempotencyKeyReused(WalletError):
    """The key was already used for a different request (draft-ietf-httpapi-idempotency-key)."""

    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"


class HoldNotActive(WalletError, Conflict):
    """The hold was already captured, released or expired: it ends exactly once."""

    code = "HOLD_NOT_ACTIVE"


class HoldNotFound(WalletError, NotFound):
    code = "HOLD_NOT_FOUND"


class PurchaseNotFound(WalletError, NotFound):
    code = "PURCHASE_NOT_FOUND"


class PurchaseNotRefundable(WalletError, Conflict):
    code = "PURCHASE_NOT_REFUNDABLE"


class MenuPriceChanged(WalletError, Conflict):
    """The tip menu item's price is not the amount the viewer agreed to pay."""

    code = "MENU_PRICE_CHANGED"


class GoalAlreadyOpen(WalletError, Conflict):
    code = "GOAL_ALREADY_OPEN"


class GoalNotFound(WalletError, NotFound):
    code = "GOAL_NOT_FOUND"


class NotStreamOwner(WalletError, Forbidden):
    code = "NOT_STREAM_OWNER"


class NotMenuOwner(WalletError, Forbidden):
    code = "NOT_MENU_OWNER"


class WebhookSignatureInvalid(WalletError, Unauthorized):
    code = "WEBHOOK_SIGNATURE_INVALID"


class UnknownProvider(WalletError, NotFound):
    code = "UNKNOWN_PAYMENT_PROVIDER"


class ShowPriceNotSet(WalletError, Conflict):
    """The creator has no private-show price: they do not take private shows."""

    code = "PRIVATE_SHOWS_OFF"


class ShowPriceChanged(WalletError, Conflict):
    """The creator's price is not the one the viewer agreed to pay."""

    code = "SHOW_PRICE_CHANGED"


class ShowNotFound(WalletError, NotFound):
    code = "SHOW_NOT_FOUND"


class ShowNotPending(WalletError, Conflict):
    """The show is not in a state that allows this (e.g. accepting an ended request)."""

    code = "SHOW_STATE_CONFLICT"


class ShowAlreadyOpen(WalletError, Conflict):
    """A request is already pending, or the creator is already in a show of this kind."""

    code = "SHOW_ALREADY_OPEN"


class NotShowParty(WalletError, Forbidden):
    code = "NOT_SHOW_PARTY"


class SelfPurchase(WalletError, BadRequest):
    status = 422
    code = "CANNOT_PAY_SELF"


class TicketSalesClosed(WalletError, Conflict):
    code = "TICKET_SALES_CLOSED"


class AlreadyHasTicket(WalletError, Conflict):
    code = "ALREADY_HAS_TICKET"


class GoalNotPledge(WalletError, Conflict):
    """Pledges go to a goal in ``pledge`` mode only (tips count towards the others)."""

    code = "GOAL_NOT_PLEDGE"


class UserNotFound(WalletError, NotFound):
    code = "USER_NOT_FOUND"


class NotACreator(WalletError, Forbidden):
    """Only accounts that can stream (creators, providers, admins) cash out earnings."""

    code = "NOT_A_CREATOR"


class PayoutBelowMinimum(WalletError, BadRequest):
    status = 422
    code = "PAYOUT_BELOW_MINIMUM"


class InsufficientMaturedEarnings(WalletError, Conflict):
    """The amount is more than the matured earnings not yet paid out or reserved."""

    code = "INSUFFICIENT_MATURED_EARNINGS"


class PayoutNotFound(WalletError, NotFound):
    code = "PAYOUT_NOT_FOUND"


class PayoutNotPending(WalletError, Conflict):
    """The payout was already decided the other way: each payout is decided exactly once."""

    code = "PAYOUT_NOT_PENDING"


class StatementTooLarge(WalletError, BadRequest):
    status = 422
    code = "STATEMENT_TOO_LARGE"


class InvalidPeriod(WalletError, BadRequest):
    status = 422
    code = "INVALID_PERIOD"


# Outcomes stored with an idempotency key carry one of these codes; `error_for` turns a stored
# code back into the error that renders it (same status, same envelope code).
OUTCOME_ERRORS: dict[str, type[WalletError]] = {
    cls.code: cls
    for cls in (
        InsufficientFunds,
        StreamNotLive,
        StreamFrozen,
        StreamNotFound,
        CreatorNotPayable,
        UnknownItem,
        HoldNotActive,
        HoldNotFound,
        PurchaseNotRefundable,
        InsufficientMaturedEarnings,
    )
}


def error_for(code: str) -> type[WalletError]:
    return OUTCOME_ERRORS[code]


MESSAGES: dict[str, str] = {
    "INSUFFICIENT_FUNDS": "not enough tokens in the wallet",
    "STREAM_NOT_LIVE": "the stream is not live",
    "STREAM_FROZEN": "the stream is frozen: nothing is paid to its creator meanwhile",
    "STREAM_NOT_FOUND": "no such stream",
    "CREATOR_NOT_PAYABLE": "this stream's creator cannot receive tokens",
    "UNKNOWN_ITEM": "no such item",
    "HOLD_NOT_ACTIVE": "the hold has already ended",
    "HOLD_NOT_FOUND": "no such hold",
    "PURCHASE_NOT_REFUNDABLE": "the purchase cannot be refunded",
    "INSUFFICIENT_MATURED_EARNINGS": "not enough matured earnings for this payout",
}


# Ids in the wallet's paths: malformed ones are unknown ones.
PURCHASE_ID = IdParam(PurchaseNotFound, "no such purchase", "id")
PAYOUT_ID = IdParam(PayoutNotFound, "no such payout", "id")
MENU_ITEM_ID = IdParam(UnknownItem, "no such tip menu item", "id")
SHOW_ID = IdParam(ShowNotFound, "no such show", "showId")
