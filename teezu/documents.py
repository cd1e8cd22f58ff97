"""The node's MongoDB (the documents the product keeps there: AI configs, companion memories,
AI conversation logs), through ``pymongo``'s asyncio API.

``TEEZU_MONGODB_URL`` names a real MongoDB; empty, the embedded MongoDB-wire-protocol server
(`teezu.embedded_mongo`, ``nx-27017``) under ``var/mongo`` is started on first use and stopped
with the node. Only the operations listed in ``docs/ai.md`` ("MongoDB") are used, so that the
embedded server and a real MongoDB answer alike; ``tests/integration/test_documents.py`` runs
each of them against whichever server the setting names.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from teezu.embedded_mongo import DATABASE, EmbeddedMongo, default_data_dir

log = logging.getLogger(__name__)

Document = dict[str, Any]


class Documents:
    """One client per node, connected on first use (the embedded server started then)."""

    def __init__(self, url: str, *, var_dir: Path, database: str | None = None) -> None:
        self.url = url
        self.var_dir = var_dir
        self.database = database
        self._embedded: EmbeddedMongo | None = None
        self._client: AsyncMongoClient[Document] | None = None
        self._db: AsyncDatabase[Document] | None = None
        self._starting = asyncio.Lock()
        self._ready_hooks: list[Any] = []

    def on_ready(self, hook: Any) -> None:
        """``await hook(db)`` once when the database is first reached (indexes are made so)."""
        self._ready_hooks.append(hook)

    async def db(self) -> AsyncDatabase[Document]:
        if self._db is not None:
            return self._db
        async with self._starting:
            if self._db is None:
                url = self.url
                if not url:
                    embedded = EmbeddedMongo(default_data_dir(self.var_dir))
                    url = await asyncio.to_thread(embedded.start)  # resolves paths: a thread
                    self._embedded = embedded
                # Datetimes come back aware (UTC), as asyncpg gives them. The constructor stats
                # files (its container check) and may resolve names: off the loop.
                client: AsyncMongoClient[Document] = await asyncio.to_thread(
                    AsyncMongoClient, url, tz_aware=True, serverSelectionTimeoutMS=10_000
                )
                db = client.get_default_database(default=DATABASE)
                if self.database:
                    db = client[self.database]
                for hook in self._ready_hooks:
                    await hook(db)
                self._client, self._db = client, db
        assert self._db is not None
        return self._db

    async def collection(self, name: str) -> AsyncCollection[Document]:
        return (await self.db())[name]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = self._db = None
        if self._embedded is not None:
            embedded, self._embedded = self._embedded, None
            await asyncio.to_thread(embedded.stop)
