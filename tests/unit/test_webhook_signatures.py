"""Webhook signatures: HMAC over timestamp and body, compared in constant time, recent only."""

from __future__ import annotations

import pytest

from api.wallet.errors import WebhookSignatureInvalid
from api.wallet.signatures import sign, verify

SECRET = b"s3cret"
BODY = b'{"id":"evt_1","type":"payment.succeeded"}'
NOW = 1_800_000_000


def test_a_fresh_signature_verifies():
    verify(SECRET, sign(SECRET, NOW, BODY), BODY, now=NOW + 10)


def test_any_of_several_v1_signatures_may_match():  # key rotation sends two
    good = sign(SECRET, NOW, BODY).rpartition("v1=")[2]
    verify(SECRET, f"t={NOW},v1={'0' * 64},v1={good}", BODY, now=NOW)


@pytest.mark.parametrize(
    ("header", "body", "now"),
    [
        (None, BODY, NOW),  # missing
        ("", BODY, NOW),
        ("v1=abc", BODY, NOW),  # no timestamp
        (f"t=soon,v1={'0' * 64}", BODY, NOW),
        (sign(SECRET, NOW, BODY), BODY + b" ", NOW),  # body changed
        (sign(b"other", NOW, BODY), BODY, NOW),  # wrong secret
        (sign(SECRET, NOW, BODY), BODY, NOW + 301),  # too old
        (sign(SECRET, NOW + 400, BODY), BODY, NOW),  # from the future
        (sign(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}"), BODY, NOW),  # re-dated
    ],
)
def test_bad_signatures_are_refused(header, body, now):
    with pytest.raises(WebhookSignatureInvalid):
        verify(SECRET, header, body, now=now)
