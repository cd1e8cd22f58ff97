"""Extra servers on their own ports, for tests that need settings or routes the shared one lacks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from api.app import create_app
from teezu.embedded_pg import EmbeddedPostgres, default_data_dir
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
    # bcrypt at cost 4, not 12: the tests sign in many times (as on the shared server).
    s = Settings(port=port, var_dir=var_dir, node_id=f"extra-{port}", bcrypt_rounds=4, **settings)
    # Built off the loop, as `teezu serve` builds it before the loop runs.
    app = await asyncio.to_thread(create_app, s, dsn=dsn)
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


REPO = Path(__file__).resolve().parent.parent


@dataclass
class ServeProcess:
    """A ``teezu serve`` process started as a user would (see `teezu_serve`)."""

    proc: asyncio.subprocess.Process
    base_url: str  # where the tests reach it (127.0.0.1)
    var_dir: Path
    out: Path  # its stdout
    err: Path  # its stderr (the logs)

    def stdout(self) -> str:
        return self.out.read_text()

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.err.read_text().splitlines()[-n:])


@contextlib.asynccontextmanager
async def teezu_serve(var_dir: Path, *args: str) -> AsyncIterator[ServeProcess]:
    """``teezu serve ARGS`` as a subprocess with the default settings, as a user runs it.

    Only what a user sets on a shared machine is set: ``TEEZU_VAR_DIR`` (here a fresh
    directory: a new embedded PostgreSQL is made in it) and free ports through ``TEEZU_PORT``
    and ``TEEZU_EDGE_PORT``; every other ``TEEZU_*`` variable of the test run is dropped.
    Yields once ``/healthz`` answers; stops the process with SIGINT (as Ctrl-C does) after.
    """
    from tests.conftest import free_port

    port, edge = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEEZU_")}
    env |= {"TEEZU_VAR_DIR": str(var_dir), "TEEZU_PORT": str(port), "TEEZU_EDGE_PORT": str(edge)}
    out, err = var_dir.parent / f"{var_dir.name}.out", var_dir.parent / f"{var_dir.name}.err"
    teezu = Path(sys.executable).parent / "teezu"  # the venv's console script (.venv/bin/teezu)
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            str(teezu), "serve", *args, cwd=REPO, env=env, stdout=stdout, stderr=stderr
        )
    served = ServeProcess(proc, f"http://127.0.0.1:{port}", var_dir, out, err)
    try:
        deadline = time.monotonic() + 180  # initdb, migrations, bcrypt at cost 12, the workers
        async with aiohttp.ClientSession() as http:
            while True:
                if proc.returncode is not None:
                    raise AssertionError(
                        f"teezu serve exited ({proc.returncode}):\n{served.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(served.base_url + "/healthz") as res:
                        if res.status == 200:
                            break
                assert time.monotonic() < deadline, f"no /healthz answer:\n{served.tail()}"
                await asyncio.sleep(0.25)
        yield served
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        # A process killed before its own cleanup leaves the embedded PostgreSQL running.
        await asyncio.to_thread(lambda: EmbeddedPostgres(default_data_dir(var_dir)).stop())
