"""Publish tokens: random secrets shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


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


# A publish grant: a short-lived, signed stand-in for the publish token, minted by the API for a
# signed-in owner (the studio page), so the long-lived token never has to reach a browser.
_GRANT_PREFIX = "pg1"


def sign_publish_grant(key: bytes, stream_id: str, expires: int) -> str:
    mac = hmac.new(key, f"publish|{stream_id}|{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{_GRANT_PREFIX}.{expires}.{mac}"


def publish_grant_valid(
    key: bytes, token: str | None, stream_id: str, now: float | None = None
) -> bool:
    if not token or not token.startswith(_GRANT_PREFIX + "."):
        return False
    _, _, rest = token.partition(".")
    expires_raw, _, mac = rest.partition(".")
    # ASCII only: '²'.isdigit() is true, and compare_digest raises on non-ASCII text.
    if not token.isascii() or not expires_raw.isdigit() or len(expires_raw) > 12:
        return False
    want = hmac.new(key, f"publish|{stream_id}|{expires_raw}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, want) and int(expires_raw) > (
        now if now is not None else time.time()
    )
