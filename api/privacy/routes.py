"""The GDPR API: exports of one's data, erasure of one's account, and admin erasure.

| | endpoint | who |
|---|---|---|
| start an export (202; one running per user) | ``POST /api/v1/me/export`` | signed in |
| its status and progress | ``GET /api/v1/me/exports/{export_id}`` | its owner |
| the zip | ``GET /api/v1/me/exports/{export_id}/download`` | its owner |
| erase my account (password, and the 2FA code when on) | ``DELETE /api/v1/me`` | signed in |
| erase an account | ``POST /api/v1/admin/users/{user_id}/erase`` | super admin |
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.auth import audit, sessions
from api.auth.credentials import AUTH_LIMIT, Checker
from api.auth.ranks import check_may_act_on
from api.auth.rbac import Permission
from api.keys import DOCUMENTS, POOL, PUBSUB, SETTINGS
from api.privacy import cleanup, store
from api.privacy.erasure import Erasure, erase_account
from api.privacy.errors import (
    ACCOUNT_ID,
    EXPORT_ID,
    AccountNotFound,
    ExportNotFound,
    ExportNotReady,
)
from api.privacy.exports import EXPORTER, Exporter
from api.realtime import CHAT, SOCKETIO
from api.routing import Api, Call
from api.schema import Input, Output, Password
from api.users import store as users
from teezu.storage import STORAGE

log = logging.getLogger(__name__)
api = Api("privacy")
EXPORT_PATH = {"export_id": EXPORT_ID}
# Erasures, so every process stops the account's jobs and connections: {"userId", "from"}.
ERASED_CHANNEL = "privacy:erased"
# This process (host names are shared by processes on one host): skips its own messages.
INSTANCE: web.AppKey[str] = web.AppKey("privacy_instance", str)


class ExportOut(Output):
    id: uuid.UUID
    status: Literal["pending", "running", "done", "failed"]
    progress: int = Field(description="Percent done (0-100)")
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="When the zip is deleted (done exports)")
    size_bytes: int | None
    download_url: str | None


class EraseMeIn(Input):
    password: Password
    code: str | None = Field(
        default=None, min_length=6, max_length=32, description="TOTP or recovery code, if on"
    )


class ErasureOut(Output):
    user_id: uuid.UUID
    erased_at: datetime
    retain_until: datetime = Field(description="Retained records are kept (locked) until then")
    retained: list[str] = Field(description="Tables where locked records of the account remain")


def export_out(row: store.ExportRow) -> ExportOut:
    return ExportOut(
        id=row.id,
        status=row.status,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        progress=row.progress,
        created_at=row.created_at,
        finished_at=row.finished_at,
        expires_at=row.expires_at,
        size_bytes=row.size_bytes,
        download_url=f"/api/v1/me/exports/{row.id}/download" if row.status == "done" else None,
    )


def erasure_out(e: Erasure) -> ErasureOut:
    return ErasureOut(
        user_id=e.user_id,
        erased_at=e.erased_at,
        retain_until=e.retain_until,
        retained=e.retained_tables,
    )


async def _own_export(call: Call[Any, Any]) -> store.ExportRow:
    """The caller's export; an unknown, forged or someone else's id is the same 404."""
    assert call.principal.user_id is not None
    row = await store.get_export(call.app[POOL], call.id("export_id"), call.principal.user_id)
    if row is None or (row.expires_at is not None and row.expires_at.timestamp() < time.time()):
        raise ExportNotFound("no such export")
    return row


@api.route(
    "POST",
    "/api/v1/me/export",
    summary="Start an export of my data (a zip of JSON files per category, and my avatar)",
    status=202,
    response=ExportOut,
    auth=True,
    errors=(409,),
)
async def start_export(call: Call[None, None]) -> ExportOut:
    """One export per user at a time: another while one runs is 409 `EXPORT_IN_PROGRESS`."""
    assert call.principal.user_id is not None
    row = await call.app[EXPORTER].start(call.principal.user_id)
    await audit.record(
        call.app[POOL],
        "privacy.export_requested",
        actor_id=call.principal.user_id,
        subject_id=call.principal.user_id,
        target=f"export:{row.id}",
    )
    return export_out(row)


@api.route(
    "GET",
    "/api/v1/me/exports/{export_id}",
    summary="An export's status and progress",
    response=ExportOut,
    auth=True,
    path_formats=EXPORT_PATH,
)
async def get_export(call: Call[None, None]) -> ExportOut:
    return export_out(await _own_export(call))


@api.route(
    "GET",
    "/api/v1/me/exports/{export_id}/download",
    summary="Download a finished export (application/zip)",
    auth=True,
    errors=(409,),
    produces="application/zip",
    path_formats=EXPORT_PATH,
)
async def download_export(call: Call[None, None]) -> web.Response:
    row = await _own_export(call)
    if row.status != "done" or row.storage_key is None:
        raise ExportNotReady("the export is not ready", meta={"status": row.status})
    data = await call.app[STORAGE].get(row.storage_key)
    if data is None:
        raise ExportNotFound("no such export")
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="teezu-export-{row.id}.zip"',
            "Cache-Control": "private, no-store",
        },
    )


async def _stop_local(app: web.Application, user_id: uuid.UUID) -> None:
    """End what this process still runs for an erased account: its export job and its open
    Socket.IO connections (which would otherwise keep a presence entry with the old handle)."""
    if EXPORTER in app:
        await app[EXPORTER].cancel_user(user_id)
    chat, sio = app.get(CHAT), app.get(SOCKETIO)
    if chat is not None and sio is not None:
        for sid, conn in list(chat.connections.items()):
            if conn.principal.user_id == user_id:
                with contextlib.suppress(Exception):
                    await sio.disconnect(sid)


async def _after_erasure(app: web.Application, erasure: Erasure) -> None:
    """Stop the account's jobs and connections here and, over pub/sub, on every other
    process; then the clean-up of storage and Redis."""
    await _stop_local(app, erasure.user_id)
    try:
        await app[PUBSUB].publish(
            ERASED_CHANNEL, {"userId": str(erasure.user_id), "from": app[INSTANCE]}
        )
    except Exception:  # the erasure is committed: the caller must still hear so
        log.exception("announcing an erasure failed; other processes' sessions lapse anyway")
    await cleanup.run_and_mark(
        app[POOL],
        app[STORAGE],
        app[SETTINGS].redis_url,
        erasure.user_id,
        erasure.cleanup,
        app[DOCUMENTS],
    )


async def _listen_erasures(app: web.Application, sub: Any) -> None:
    try:
        while True:
            message = await sub.get()
            if message.get("from") == app[INSTANCE]:
                continue
            try:
                await _stop_local(app, uuid.UUID(message["userId"]))
            except Exception:
                log.exception("stopping an erased account's connections failed")
    finally:
        await sub.close()


@api.route(
    "DELETE",
    "/api/v1/me",
    summary="Erase my account (confirm with my password, and my 2FA code when it is on)",
    body=EraseMeIn,
    response=ErasureOut,
    auth=True,
    errors=(403, 409),
    rate_limit=AUTH_LIMIT,
)
async def erase_me(call: Call[EraseMeIn, None]) -> ErasureOut:
    """Deletes what no law requires us to keep; the rest is locked and hidden (README, GDPR).
    Signs out every session. A live broadcast must end first (409 `STREAM_LIVE`)."""
    pool = call.app[POOL]
    assert call.principal.user_id is not None
    user = await users.get_by_id(pool, call.principal.user_id)
    if user is None:
        raise AccountNotFound("no such user")
    # Checked like a sign-in (api.auth.credentials): a stolen session must not become a way
    # to guess the password or the 2FA code.
    await Checker(call.app, call.ip).confirm("erase", user, call.body.password, call.body.code)
    settings = call.app[SETTINGS]
    erasure = await erase_account(
        pool, user.id, actor_id=user.id, retain_years=settings.privacy_retain_years
    )
    await _after_erasure(call.app, erasure)
    call.after.append(lambda response: sessions.clear_cookie(response, settings))
    return erasure_out(erasure)


@api.route(
    "POST",
    "/api/v1/admin/users/{user_id}/erase",
    summary="Erase an account (on a request received outside the app; super admin)",
    response=ErasureOut,
    permission=Permission.SYSTEM_CONFIG_ROOT,
    errors=(409,),
    path_formats={"user_id": ACCOUNT_ID},
    ranked="account.erase",
)
async def admin_erase(call: Call[None, None]) -> ErasureOut:
    """Not one's own account (`DELETE /api/v1/me` is for that): 403 `RANK_FORBIDDEN`."""
    user_id = call.id("user_id")
    assert call.principal.user_id is not None
    await check_may_act_on(call.app[POOL], call.principal, user_id, action="account.erase")
    erasure = await erase_account(
        call.app[POOL],
        user_id,
        actor_id=call.principal.user_id,
        retain_years=call.app[SETTINGS].privacy_retain_years,
    )
    await _after_erasure(call.app, erasure)
    return erasure_out(erasure)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """After the app's own start-up: the exporter, the erasure listener; redo clean-ups a
    crash interrupted."""
    pool, storage, settings = app[POOL], app[STORAGE], app[SETTINGS]
    abandoned = await store.fail_abandoned(pool)
    if abandoned:
        log.warning("%d abandoned exports marked failed", abandoned)
    await cleanup.retry_pending(pool, storage, settings.redis_url, app[DOCUMENTS])
    exporter = Exporter(
        pool, storage, keep_days=settings.privacy_export_keep_days, documents=app[DOCUMENTS]
    )
    app[EXPORTER] = exporter
    app[INSTANCE] = uuid.uuid4().hex
    sub = await app[PUBSUB].subscribe(ERASED_CHANNEL)
    listener = asyncio.get_running_loop().create_task(
        _listen_erasures(app, sub), name="privacy-erasures"
    )
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await exporter.close()


def setup(app: web.Application) -> None:
    """Add the GDPR routes and their lifecycle (call after the app's own lifecycle)."""
    app.cleanup_ctx.append(_lifecycle)
    api.add_to(app)
