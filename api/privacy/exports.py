"""Export jobs: gather every registered package's data in one consistent snapshot, build the
zip in a thread, store it (``privacy-exports/{user_id}/{export_id}.zip``) and mark it done.

One job per user at a time (a unique index on pending/running rows). A job runs as a task of
the process that accepted it; `Exporter.cancel_user` stops a user's job when they are erased,
and the final conditional UPDATE throws the zip away if the row vanished meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from api.privacy import archive, store
from api.privacy.errors import ExportInProgress
from api.privacy.packages import REGISTRY
from api.privacy.registry import ExportContext, Subject
from teezu.documents import Documents
from teezu.storage import Storage

log = logging.getLogger(__name__)


class Exporter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        storage: Storage,
        *,
        keep_days: float,
        documents: Documents | None = None,
    ) -> None:
        self.pool = pool
        self.storage = storage
        self.documents = documents
        self.keep_days = keep_days
        self._jobs: dict[uuid.UUID, tuple[uuid.UUID, asyncio.Task[None]]] = {}  # by user

    async def start(self, user_id: uuid.UUID) -> store.ExportRow:
        """Queue an export of ``user_id``'s data; 409 `EXPORT_IN_PROGRESS` if one is running."""
        await self.purge_expired()
        await store.fail_abandoned(self.pool, user_id)
        row = await store.create_export(self.pool, user_id)
        if row is None:
            raise ExportInProgress("an export of your data is already being made")
        task = asyncio.get_running_loop().create_task(
            self._run(row.id, user_id), name=f"privacy-export-{row.id}"
        )
        self._jobs[user_id] = (row.id, task)
        task.add_done_callback(lambda _: self._forget(user_id, row.id))
        return row

    def _forget(self, user_id: uuid.UUID, export_id: uuid.UUID) -> None:
        job = self._jobs.get(user_id)
        if job is not None and job[0] == export_id:
            del self._jobs[user_id]

    async def wait(self, user_id: uuid.UUID) -> None:
        """Until the user's running job (on this process) ends; for tests and shutdown."""
        job = self._jobs.get(user_id)
        if job is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(job[1])

    async def cancel_user(self, user_id: uuid.UUID) -> None:
        job = self._jobs.pop(user_id, None)
        if job is not None:
            job[1].cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job[1]

    async def close(self) -> None:
        for user_id in list(self._jobs):
            await self.cancel_user(user_id)

    async def purge_expired(self) -> None:
        for key in await store.expired_exports(self.pool):
            await self.storage.delete(key)

    async def _run(self, export_id: uuid.UUID, user_id: uuid.UUID) -> None:
        try:
            await self._make(export_id, user_id)
        except asyncio.CancelledError:
            await asyncio.shield(store.fail_export(self.pool, export_id, "cancelled"))
            raise
        except Exception:
            log.exception("export failed", extra={"export": str(export_id)})
            await store.fail_export(self.pool, export_id, "internal error")

    async def _make(self, export_id: uuid.UUID, user_id: uuid.UUID) -> None:
        if not await store.set_progress(self.pool, export_id, "running", 0):
            return
        items = [i for i in REGISTRY.all() if i.export is not None]
        documents: dict[str, Any] = {}
        # One snapshot for every package, so the files agree with each other.
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            u = await conn.fetchrow("SELECT email, handle FROM users WHERE id = $1", user_id)
            if u is None:
                raise LookupError("user vanished")
            ctx = ExportContext(
                conn,
                Subject(user_id, u["email"], u["handle"]),
                self.storage,
                documents=self.documents,
            )
            for n, item in enumerate(items, start=1):
                assert item.export is not None
                for name, data in (await item.export(ctx)).items():
                    if name in documents:
                        raise ValueError(f"two packages export {name}")
                    documents[name] = data
                # Progress on another connection: this one is inside the snapshot.
                await store.set_progress(self.pool, export_id, "running", 90 * n // len(items))
        manifest = {
            "exportId": export_id,
            "userId": user_id,
            "createdAt": datetime.now(UTC),
            "categories": [i.name for i in items],
            "files": sorted([*documents, *ctx.files]),
        }
        blob = await asyncio.to_thread(archive.build_zip, documents, ctx.files, manifest)
        key = f"{store.export_prefix(user_id)}/{export_id}.zip"
        await self.storage.put(key, blob, "application/zip", "private, no-store")
        if not await store.finish_export(self.pool, export_id, key, len(blob), self.keep_days):
            await self.storage.delete(key)  # erased (or failed) meanwhile: keep nothing


# The node's exporter (made at start-up by the privacy routes' lifecycle).
EXPORTER: web.AppKey[Exporter] = web.AppKey("privacy_exporter", Exporter)
