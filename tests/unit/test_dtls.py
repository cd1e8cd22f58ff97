"""ingest/dtls.py: aiortc's DTLS client accepts a peer with an RSA certificate (GStreamer).

The handshakes run in memory (two pyOpenSSL DTLS endpoints whose bytes we carry by hand), so
the test needs no network and shows the one thing the override changes: which suites aiortc's
ClientHello offers.
"""

from __future__ import annotations

import datetime

import aiortc
import pytest
from aiortc.rtcdtlstransport import SRTP_AES128_CM_SHA1_80, RTCCertificate
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from ingest.dtls import (
    AIORTC_CIPHERS,
    CIPHERS,
    RSA_PEER_CIPHERS,
    aiortc_context,
    allow_rsa_peers,
)


def _names(ctx: SSL.Context) -> list[str]:
    """The DTLS 1.2 suites a context offers (TLS 1.3 suites, listed too, never apply to DTLS)."""
    return [n for n in SSL.Connection(ctx).get_cipher_list() if not n.startswith("TLS_")]


def test_aiortc_still_sets_the_list_we_extend():
    # Fails when aiortc changes its list: look at the override again (or drop it).
    assert aiortc.__version__ == "1.16.0"
    ctx = aiortc_context(RTCCertificate.generateCertificate(), [SRTP_AES128_CM_SHA1_80])
    want = AIORTC_CIPHERS.decode().split(":")
    assert _names(ctx) == want


def test_override_appends_rsa_suites_once():
    allow_rsa_peers()
    allow_rsa_peers()  # idempotent: no wrapper around the wrapper
    cert = RTCCertificate.generateCertificate()
    ctx = cert._create_ssl_context([SRTP_AES128_CM_SHA1_80])
    names = _names(ctx)
    assert names == CIPHERS.decode().split(":")
    assert names[:4] == AIORTC_CIPHERS.decode().split(":")  # aiortc's order first
    assert all("RSA" not in n or "GCM" in n for n in names)


def _rsa_server_context() -> SSL.Context:
    """A DTLS server like GStreamer's dtlsagent: a self-signed RSA-2048 certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gstreamer-like")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    ctx = SSL.Context(SSL.DTLS_METHOD)
    ctx.use_certificate(cert)
    ctx.use_privatekey(key)
    ctx.set_verify(SSL.VERIFY_PEER, lambda *args: True)
    ctx.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
    return ctx


def _handshake(client_ctx: SSL.Context) -> SSL.Connection:
    client = SSL.Connection(client_ctx)
    client.set_connect_state()
    server = SSL.Connection(_rsa_server_context())
    server.set_accept_state()
    for _ in range(20):
        for side in (client, server):
            try:
                side.do_handshake()
            except SSL.WantReadError:
                pass
        moved = False
        for src, dst in ((client, server), (server, client)):
            try:
                data = src.bio_read(65536)
            except SSL.WantReadError:
                continue
            dst.bio_write(data)
            moved = True
        if not moved:
            break
    return client


def test_handshake_with_an_rsa_certificate_needs_the_override():
    cert = RTCCertificate.generateCertificate()
    srtp = [SRTP_AES128_CM_SHA1_80]
    # aiortc's own list: the RSA peer has no suite in common and refuses.
    with pytest.raises(SSL.Error, match="no shared cipher|handshake failure|no_shared_cipher"):
        _handshake(aiortc_context(cert, srtp))
    allow_rsa_peers()
    client = _handshake(cert._create_ssl_context(srtp))
    assert client.get_cipher_name() in RSA_PEER_CIPHERS.decode().split(":")
    assert client.get_selected_srtp_profile() == b"SRTP_AES128_CM_SHA1_80"
