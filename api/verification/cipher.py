"""ID images encrypted at rest with AES-256-GCM (`cryptography`, the field's standard).

Each image gets a fresh 96-bit nonce; the record id and document kind are bound in as
associated data, so a ciphertext copied onto another record's row fails to decrypt.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class DocumentCipher:
    """Encrypts and decrypts documents with one key (derived from the configured secret)."""

    def __init__(self, secret: bytes) -> None:
        # The secret is configured text (or a generated hex file): hash it to the 32-byte key.
        self._aead = AESGCM(hashlib.sha256(b"teezu-identity-v1:" + secret).digest())

    @staticmethod
    def _aad(record_id: uuid.UUID, kind: str) -> bytes:
        return record_id.bytes + kind.encode()

    def encrypt(self, record_id: uuid.UUID, kind: str, data: bytes) -> tuple[bytes, bytes]:
        """``(nonce, ciphertext)`` of ``data`` for ``record_id``'s ``kind`` document."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce, self._aead.encrypt(nonce, data, self._aad(record_id, kind))

    def decrypt(self, record_id: uuid.UUID, kind: str, nonce: bytes, ciphertext: bytes) -> bytes:
        """The plaintext; raises `cryptography.exceptions.InvalidTag` if anything was altered."""
        return self._aead.decrypt(nonce, ciphertext, self._aad(record_id, kind))


# The node's document cipher (keyed from `TEEZU_IDENTITY_KEY`).
CIPHER: web.AppKey[DocumentCipher] = web.AppKey("identity_cipher", DocumentCipher)
