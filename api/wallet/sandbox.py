"""The built-in sandbox payment provider: checkouts that confirm, decline or wait, and later
chargebacks, all reported to our own webhook over HTTP with an HMAC signature.

No money moves and no card is involved. The buyer's ``paymentMethod`` picks what happens:

* ``sandbox_confirm`` (the default): the payment succeeds right after the checkout starts;
* ``sandbox_decline``: it fails;
* ``sandbox_manual``: nothing happens until `complete` is called (a test, or an operator).

`chargeback` later takes a confirmed payment back. Deliveries behave like a real provider's:
at least once, retried with back-off until our endpoint answers 2xx, signed afresh on each
attempt; `redeliver` sends an event again (a duplicate delivery). It is an in-process object,
so its memory of payments lasts as long as the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from api.wallet import signatures
from api.wallet.providers import Checkout, EventType, PaymentEvent
from api.wallet.purchases import Purchase
from teezu.errors import BadRequest

log = logging.getLogger(__name__)

CONFIRM = "sandbox_confirm"
DECLINE = "sandbox_decline"
MANUAL = "sandbox_manual"
METHODS = (CONFIRM, DECLINE, MANUAL)


@dataclass
class SandboxPayment:
    purchase_id: uuid.UUID
    ref: str
    amount_minor: int
    currency: str
    state: str = "open"  # open | succeeded | failed | charged_back | refunded


class SandboxProvider:
    """The `api.wallet.providers.PaymentProvider` for development and tests."""

    name = "sandbox"

    def __init__(
        self,
        secret: bytes,
        webhook_url: str,
        *,
        delay: float = 0.02,
        attempts: int = 6,
        backoff: float = 0.2,
    ) -> None:
        self._secret = secret
        self.webhook_url = webhook_url
        self._delay = delay
        self._attempts = attempts
        self._backoff = backoff
        self._payments: dict[uuid.UUID, SandboxPayment] = {}
        self._events: dict[str, bytes] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.deliveries: list[tuple[str, int]] = []  # (event id, HTTP status) of every attempt

    # ---- the provider interface ------------------------------------------------------
    def accepts(self, payment_method: str | None) -> bool:
        return payment_method is None or payment_method in METHODS

    async def start_checkout(self, purchase: Purchase) -> Checkout:
        payment = self._payments.get(purchase.id)
        if payment is not None:  # same purchase, same checkout
            return Checkout(payment.ref)
        payment = SandboxPayment(
            purchase.id, f"sbx_{secrets.token_hex(8)}", purchase.price_minor, purchase.currency
        )
        self._payments[purchase.id] = payment
        method = purchase.payment_method or CONFIRM
        if method == CONFIRM:
            self._send_later(self._event(payment, EventType.SUCCEEDED))
        elif method == DECLINE:
            self._send_later(self._event(payment, EventType.FAILED))
        return Checkout(payment.ref)

    async def refund(self, purchase: Purchase) -> None:
        payment = self._payments.get(purchase.id)
        if payment is not None:
            payment.state = "refunded"

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> PaymentEvent:
        signatures.verify(self._secret, headers.get(signatures.HEADER), body, now=int(time.time()))
        try:
            doc = json.loads(body)
            data = doc["data"]
            return PaymentEvent(
                id=str(doc["id"]),
                type=EventType(doc["type"]),
                purchase_id=uuid.UUID(data["purchaseId"]),
                provider_ref=str(data["paymentRef"]),
                amount_minor=int(data["amountMinor"]),
                currency=str(data["currency"]),
                payload=doc,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"malformed webhook event: {exc}") from None

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()

    # ---- what a sandbox operator (or a test) can do -----------------------------------
    async def complete(self, purchase_id: uuid.UUID, *, succeeded: bool = True) -> str:
        """Finish a ``sandbox_manual`` checkout; returns the event id (delivered in the
        background)."""
        payment = self._payments[purchase_id]
        event_id = self._event(payment, EventType.SUCCEEDED if succeeded else EventType.FAILED)
        self._send_later(event_id)
        return event_id

    async def chargeback(self, purchase_id: uuid.UUID) -> str:
        """The buyer's bank takes a succeeded payment back; returns the event id."""
        payment = self._payments[purchase_id]
        if payment.state != "succeeded":
            raise ValueError(f"cannot charge back a payment that is {payment.state}")
        event_id = self._event(payment, EventType.CHARGED_BACK)
        self._send_later(event_id)
        return event_id

    def payment(self, purchase_id: uuid.UUID) -> SandboxPayment | None:
        """The sandbox's record of a purchase's payment."""
        return self._payments.get(purchase_id)

    def event(self, event_id: str) -> bytes:
        """The exact body of an event as the sandbox delivers it (unsigned)."""
        return self._events[event_id]

    async def redeliver(self, event_id: str) -> int:
        """Send an event again now (what a provider does when unsure it was received)."""
        return await self._deliver(event_id)

    async def drain(self) -> None:
        """Wait until every delivery in flight has finished (succeeded or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- internals ------------------------------------------------------------------
    def _event(self, payment: SandboxPayment, kind: EventType) -> str:
        payment.state = {
            EventType.SUCCEEDED: "succeeded",
            EventType.FAILED: "failed",
            EventType.CHARGED_BACK: "charged_back",
        }[kind]
        event_id = f"evt_{secrets.token_hex(10)}"
        self._events[event_id] = json.dumps(
            {
                "id": event_id,
                "type": kind.value,
                "created": int(time.time()),
                "data": {
                    "purchaseId": str(payment.purchase_id),
                    "paymentRef": payment.ref,
                    "amountMinor": payment.amount_minor,
                    "currency": payment.currency,
                },
            }
        ).encode()
        return event_id

    def _send_later(self, event_id: str) -> None:
        task = asyncio.get_running_loop().create_task(
            self._deliver(event_id, wait=self._delay), name=f"sandbox-webhook-{event_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event_id: str, *, wait: float = 0.0) -> int:
        body = self._events[event_id]
        if self._session is None:
            self._session = aiohttp.ClientSession()
        status = 0
        for attempt in range(self._attempts):
            await asyncio.sleep(wait if attempt == 0 else self._backoff * 2 ** (attempt - 1))
            headers = {
                "Content-Type": "application/json",
                signatures.HEADER: signatures.sign(self._secret, int(time.time()), body),
            }
            try:
                async with self._session.post(self.webhook_url, data=body, headers=headers) as r:
                    status = r.status
                    await r.read()
            except aiohttp.ClientError as exc:
                log.warning("sandbox webhook delivery failed: %s", exc)
                status = 0
            self.deliveries.append((event_id, status))
            if 200 <= status < 300:
                return status
        log.error("sandbox webhook %s not delivered after %d attempts", event_id, self._attempts)
        return status
