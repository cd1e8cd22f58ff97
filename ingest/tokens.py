"""Publish tokens: random secrets shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_publish_token() -> tuple[str, bytes]:
    """Return ``(token, hash)``: the token goes to the creator, the hash to the database."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    # 256 random bits need no slow KDF: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).digest()


def token_matches(token: str | None, stored_hash: bytes) -> bool:
    if not token:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
