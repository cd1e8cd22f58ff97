"""With a DSN, unhandled errors are also forwarded through `SentryForwarder` (sentry-sdk): here
to a local stand-in that speaks Sentry's envelope endpoint, over real HTTP."""

from __future__ import annotations

import asyncio
import gzip
import json

import pytest
from aiohttp import web

from api.error_groups import ErrorGroups, SentryForwarder
from tests.conftest import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_errors_reach_a_sentry_endpoint_with_their_request_id():
    import sentry_sdk

    received: list[bytes] = []

    async def envelope(request: web.Request) -> web.Response:
        raw = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        received.append(raw)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/api/1/envelope/", envelope)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        forwarder = await asyncio.to_thread(SentryForwarder, f"http://key@127.0.0.1:{port}/1")
        groups = ErrorGroups(forwarder)
        try:
            raise LookupError("forwarded")
        except LookupError as exc:
            groups.record(exc, "req-forward-1")
        await asyncio.to_thread(forwarder.close)  # flushes the SDK's queue (a thread)
        items = [json.loads(line) for raw in received for line in raw.splitlines() if line]
        events = [i for i in items if "exception" in i]
        assert len(events) == 1, items
        error = events[0]["exception"]["values"][-1]
        assert (error["type"], error["value"]) == ("LookupError", "forwarded")
        assert events[0]["tags"]["request_id"] == "req-forward-1"
        assert len(groups.pending) == 1  # and grouped locally as well
    finally:
        await asyncio.to_thread(sentry_sdk.init)  # no DSN: the SDK sends nothing more
        await runner.cleanup()
