"""Webhook signatures (pure): HMAC-SHA256 over the timestamp and the exact body bytes.

Header: ``TeezU-Signature: t=<unix seconds>,v1=<hex digest>`` where the digest is
``HMAC-SHA256(secret, "<t>." + body)``. A signature is accepted within ``tolerance`` seconds
of its timestamp (a captured delivery cannot be replayed later); a delivery replayed within
that window is caught by the event id (`api.wallet.webhooks`).
"""

from __future__ import annotations

import hashlib
import hmac

from api.wallet.errors import WebhookSignatureInvalid

HEADER = "TeezU-Signature"
TOLERANCE = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: bytes, header: str | None, body: bytes, *, now: int, tolerance: int = TOLERANCE
) -> None:
    """Raise `WebhookSignatureInvalid` unless ``header`` signs ``body`` recently enough."""
    if not header:
        raise WebhookSignatureInvalid(f"missing {HEADER} header")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise WebhookSignatureInvalid("malformed signature header") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookSignatureInvalid(
            "signature timestamp outside the tolerance", meta={"tolerance": tolerance}
        )
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    # compare_digest raises TypeError on non-ASCII text: such a value is just a mismatch.
    given_all = [g for g in fields.get("v1", []) if g.isascii()]
    if not any(hmac.compare_digest(expected, given) for given in given_all):
        raise WebhookSignatureInvalid("signature does not match")
