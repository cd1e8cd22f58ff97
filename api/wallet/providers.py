"""The payment-provider interface: what the wallet needs from whoever takes the money.

A provider runs the checkout (its own hosted page or script collects card details: they never
reach us), tells us what happened through signed webhooks, and refunds on request. Webhook
events are turned into `PaymentEvent`s by the provider that signed them; `api.wallet.webhooks`
applies them to the ledger, once per event id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from aiohttp import web

from api.wallet.purchases import Purchase


class EventType(StrEnum):
    SUCCEEDED = "payment.succeeded"
    FAILED = "payment.failed"
    CHARGED_BACK = "payment.charged_back"


@dataclass(frozen=True)
class PaymentEvent:
    """One webhook event, already verified and parsed."""

    id: str
    type: EventType
    purchase_id: uuid.UUID
    provider_ref: str
    amount_minor: int
    currency: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Checkout:
    """What the buyer needs to pay: the provider's payment id and, for hosted pages, a URL."""

    provider_ref: str
    redirect_url: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def start_checkout(self, purchase: Purchase) -> Checkout:
        """Start (or, for the same purchase id, return the already started) checkout."""
        ...

    async def refund(self, purchase: Purchase) -> None:
        """Return the buyer's money (our ledger has already taken the tokens back)."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> PaymentEvent:
        """Verify a webhook delivery's signature and parse it; raises
        `api.wallet.errors.WebhookSignatureInvalid` or `teezu.errors.BadRequest`."""
        ...

    async def close(self) -> None: ...


PROVIDERS: web.AppKey[dict[str, PaymentProvider]] = web.AppKey("payment_providers", dict)
