"""Extra servers on their own ports, for tests that need settings or routes the shared one lacks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from api.app import create_app
from teezu.settings import Settings


@contextlib.asynccontextmanager
async def extra_server(
    dsn: str,
    var_dir: Path,
    port: int,
    *,
    customize: Callable[[web.Application], None] | None = None,
    **settings: object,
) -> AsyncIterator[tuple[str, web.Application]]:
    """A full app (same database) with ``settings`` over the defaults; yields (base URL, app)."""
    # Go-live is gated on verified, checked-in performers as in production (see
    # tests/performers.py). Like the shared server (tests/conftest.py says why), uploads are
    # not scanned in a worker process and playback skips the viewer age gate unless a test asks
    # (tests/integration/test_posts.py, tests/integration/test_age_gate.py).
    settings.setdefault("post_scan_enabled", False)
    settings.setdefault("age_gate_enabled", False)
    # No LL-HLS edge unless asked: by default it binds port + 1, which may be another server's.
    settings.setdefault("edge_port", 0)
    s = Settings(port=port, var_dir=var_dir, node_id=f"extra-{port}", bcrypt_rounds=4, **settings)
    app = create_app(s, dsn=dsn)
    if customize is not None:
        customize(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await runner.cleanup()
