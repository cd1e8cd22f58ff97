"""Embedded MongoDB-wire-protocol server: the ``nx-27017`` package (PyPI, MIT, pure Python).

No ``mongod`` installs on this kind of machine (Debian, PyPI and npm have none that does not
download one at run time), but ``nx-27017`` speaks MongoDB's wire protocol over TCP and keeps
its data in SQLite files (through ``neosqlite``); unmodified ``pymongo`` talks to it. Like
`teezu.embedded_pg`, this module runs it from a data directory we own (``var/mongo``), reuses
a server another teezu process already started on that directory, and stops only what it
started. ``TEEZU_MONGODB_URL`` names a real MongoDB instead (production).

The server listens on 127.0.0.1 only, on a free port chosen at start and written to
``server.json`` in the data directory, and has no authentication: it is for one machine.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

DATABASE = "teezu"  # the database name the embedded URL selects


class EmbeddedMongoError(RuntimeError):
    pass


def default_data_dir(var_dir: Path) -> Path:
    return var_dir / "mongo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int, timeout: float = 0.5) -> bool:
    """Does something accept TCP connections on 127.0.0.1:port?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedMongo:
    """Runs ``nx-27017`` on a data directory; ``start()`` returns a ``mongodb://`` URL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def state_file(self) -> Path:
        return self.data_dir / "server.json"

    def start(self, timeout: float = 30.0) -> str:
        """Start (or reuse) the server; idempotent. Blocking: call it off the event loop."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir = self.data_dir.resolve()
        with self._lock():
            running = self._running()
            if running is not None:
                log.info(
                    "reusing the MongoDB-protocol server on port %d (%s)", running, self.data_dir
                )
                self._url = self._url_for(running)
                return self._url
            port = _free_port()
            logfile = self.data_dir / "server.log"
            cmd = [
                sys.executable,
                "-c",
                "import sys; from nx_27017.nx_27017 import main; sys.exit(main())",
                "--data-dir",
                str(self.data_dir / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-file",
                str(logfile),
                "--pid-file",
                str(self.data_dir / "nx.pid"),
            ]
            log.info("starting the MongoDB-protocol server (nx-27017) on port %d", port)
            with open(logfile, "ab") as out:
                # its own session: a Ctrl-C meant for `teezu serve` is handled by us (stop())
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    start_new_session=True,
                )
            deadline = time.monotonic() + timeout
            while not _answers(port):
                if self._proc.poll() is not None:
                    raise EmbeddedMongoError(
                        f"nx-27017 exited with {self._proc.returncode}; see {logfile}"
                    )
                if time.monotonic() > deadline:
                    self._terminate(self._proc.pid)
                    raise EmbeddedMongoError(f"nx-27017 did not listen within {timeout}s")
                time.sleep(0.05)
            self.state_file.write_text(json.dumps({"pid": self._proc.pid, "port": port}))
            self._url = self._url_for(port)
        return self._url

    def stop(self) -> None:
        """Stop the server if this object started it (another process's is left alone)."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        with self._lock():
            self._terminate(proc.pid)
            proc.wait(10)
            self.state_file.unlink(missing_ok=True)
        self._url = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise EmbeddedMongoError("EmbeddedMongo is not started")
        return self._url

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- internals --------------------------------------------------------------------
    @staticmethod
    def _url_for(port: int) -> str:
        return f"mongodb://127.0.0.1:{port}/{DATABASE}"

    def _running(self) -> int | None:
        """The port of a live server for this data directory, or None (stale state removed)."""
        try:
            state = json.loads(self.state_file.read_text())
            pid, port = int(state["pid"]), int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        try:
            alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if alive and _answers(port):
            return port
        log.info("removing stale %s", self.state_file)
        self.state_file.unlink(missing_ok=True)
        return None

    @staticmethod
    def _terminate(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _lock(self):
        path = self.data_dir / ".lock"

        class _Flock:
            def __enter__(s) -> None:
                s.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(s.fd, fcntl.LOCK_EX)

            def __exit__(s, *exc: object) -> None:
                fcntl.flock(s.fd, fcntl.LOCK_UN)
                os.close(s.fd)

        return _Flock()
