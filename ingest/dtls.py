"""aiortc's DTLS cipher list, widened so peers with an RSA certificate can connect.

aiortc 1.16 (``RTCCertificate._create_ssl_context`` in ``aiortc/rtcdtlstransport.py``) offers
only ECDHE-ECDSA suites. When aiortc is the DTLS client (a WHIP/WHEP offer says
``a=setup:actpass`` and we answer ``active``) and the peer's certificate is RSA, which is what
GStreamer's ``webrtcbin`` generates, no offered suite fits the peer's key and it answers
``handshake_failure``. :func:`allow_rsa_peers` keeps aiortc's list, in its order, and appends
the two ECDHE-RSA AES-GCM suites: still a short ClientHello (aiortc trimmed the list so that
mbedTLS peers, which cannot reassemble a fragmented ClientHello, keep working), and only AEAD
suites with forward secrecy.

The override is one wrapper around that one method, applied once per process;
``tests/unit/test_dtls.py`` fails when aiortc's own list changes, so the override is looked at
again on every aiortc upgrade (and dropped once upstream takes the change; the proposal is in
docs/engine.md).
"""

from __future__ import annotations

from typing import Any

from aiortc.rtcdtlstransport import RTCCertificate
from OpenSSL import SSL

# What aiortc 1.16.0 sets, verbatim: the test compares it with the real thing.
AIORTC_CIPHERS = (
    b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    b"ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"
)
RSA_PEER_CIPHERS = b"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
CIPHERS = AIORTC_CIPHERS + b":" + RSA_PEER_CIPHERS

_MARK = "_teezu_rsa_peers"


def allow_rsa_peers() -> None:
    """Make every aiortc DTLS context offer :data:`CIPHERS` (idempotent, process-wide)."""
    current = RTCCertificate._create_ssl_context
    if getattr(current, _MARK, False):
        return

    def _create_ssl_context(self: RTCCertificate, srtp_profiles: Any) -> SSL.Context:
        ctx = current(self, srtp_profiles)
        ctx.set_cipher_list(CIPHERS)
        return ctx

    setattr(_create_ssl_context, _MARK, True)
    _create_ssl_context.__wrapped__ = current  # type: ignore[attr-defined]  # functools' convention on a plain function
    RTCCertificate._create_ssl_context = _create_ssl_context  # type: ignore[method-assign]  # the patch itself (aiortc pinned)


def aiortc_context(certificate: RTCCertificate, srtp_profiles: Any) -> SSL.Context:
    """The context aiortc itself would make, without our override (for the guard test)."""
    method = RTCCertificate._create_ssl_context
    original = getattr(method, "__wrapped__", method)
    return original(certificate, srtp_profiles)
