"""The identity-provider interface and the built-in manual-review provider.

A provider takes a checked `Submission` and starts a verification; its outcome arrives later
as a review row ('approved' / 'rejected'). The manual provider stores everything here and a
moderator decides through the API; an external provider (a KYC vendor) would forward the
submission and write its webhook's verdict through `store.add_review` the same way.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Protocol

import asyncpg
from aiohttp import web

from api.verification import store
from api.verification.cipher import DocumentCipher
from api.verification.upload import Submission


class IdentityProvider(Protocol):
    name: str

    async def submit(self, db: asyncpg.Pool, user_id: uuid.UUID, sub: Submission) -> uuid.UUID:
        """Start verifying ``user_id`` with ``sub``; returns the new record's id."""
        ...


class ManualReviewProvider:
    """Documents encrypted into PostgreSQL; a moderator reviews them (status 'pending')."""

    name = "manual"

    def __init__(self, cipher: DocumentCipher) -> None:
        self.cipher = cipher

    async def submit(self, db: asyncpg.Pool, user_id: uuid.UUID, sub: Submission) -> uuid.UUID:
        record_id = uuid.uuid4()

        def seal() -> list[tuple[str, str, bytes, bytes]]:
            return [
                (d.kind, d.content_type, *self.cipher.encrypt(record_id, d.kind, d.data))
                for d in sub.documents
            ]

        # Megabytes of AES-GCM: off the event loop.
        encrypted = await asyncio.to_thread(seal)
        await store.insert_record(db, record_id, user_id, self.name, sub, encrypted)
        return record_id


# The node's identity provider (the manual review unless a vendor's is configured).
IDENTITY: web.AppKey[IdentityProvider] = web.AppKey("identity_provider")
