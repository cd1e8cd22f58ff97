"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: it can do its work)."""

from __future__ import annotations

from aiohttp import web

from api.keys import POOL
from teezu.errors import Unavailable


class NotReady(Unavailable):
    code = "NOT_READY"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    try:
        async with request.app[POOL].acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
        raise NotReady("not ready", meta={"checks": checks}) from exc
    return web.json_response({"status": "ok", "checks": checks})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
