"""The cluster's topology on one machine: ``teezu cluster up`` / ``teezu cluster down``.

``up`` starts Redis, the embedded PostgreSQL (unless one of this state directory is already
running), 2 API nodes, 2 ingest nodes, 1 worker and nginx in front (``teezu/frontdoor.py``),
each a separate process in its own session, waits until each answers, and records what it
started (``cluster.json``: pid, what it is, the process's start time). ``down`` stops exactly
those processes (a recorded pid whose process is not the one started, e.g. a reused pid, is
left alone) and the PostgreSQL server only if ``up`` started it.

The tests start the same pieces from the same functions (``tests/cluster.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from teezu.frontdoor import FrontDoor, Upstream, command, local_user, render, write

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Topology:
    """Which processes on which ports (one machine; the defaults are `teezu cluster up`'s)."""

    http_port: int = 8080
    https_port: int | None = 8443
    api_ports: tuple[int, ...] = (8101, 8102)
    ingest_ports: tuple[int, ...] = (8111, 8112)
    worker_ports: tuple[int, ...] = (8121,)
    redis_port: int = 6390
    unavailable_port: int = 8199
    heartbeat_interval: float = 2.0
    heartbeat_ttl: float = 6.0
    settings: dict[str, str] = field(default_factory=dict)  # more TEEZU_* for every role

    def nodes(self) -> list[tuple[str, str, int]]:
        """(role, node id, port) of every role process."""
        return (
            [("api", f"api-{i}", p) for i, p in enumerate(self.api_ports)]
            + [("ingest", f"ingest-{i}", p) for i, p in enumerate(self.ingest_ports)]
            + [("worker", f"worker-{i}", p) for i, p in enumerate(self.worker_ports)]
        )

    def public_url(self) -> str:
        if self.https_port:
            return f"https://localhost:{self.https_port}"
        return f"http://127.0.0.1:{self.http_port}"

    def front_door(self, directory: Path, tls: tuple[Path, Path] | None) -> FrontDoor:
        return FrontDoor(
            directory=directory,
            http_port=self.http_port,
            https_port=self.https_port if tls else None,
            certificate=tls[0] if tls else None,
            key=tls[1] if tls else None,
            api=[Upstream(n, f"127.0.0.1:{p}") for r, n, p in self.nodes() if r == "api"],
            ingest=[Upstream(n, f"127.0.0.1:{p}") for r, n, p in self.nodes() if r == "ingest"],
            unavailable_port=self.unavailable_port,
            user=local_user(),
        )


def role_env(
    topology: Topology, node: str, port: int, *, dsn: str, redis_url: str, var_dir: Path
) -> dict[str, str]:
    """The environment of one role process: shared database, Redis, var/ (keys, media)."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TEEZU_DATABASE_URL": dsn,
        "TEEZU_REDIS_URL": redis_url,
        "TEEZU_NODE_ID": node,
        "TEEZU_HOST": "127.0.0.1",
        "TEEZU_PORT": str(port),
        "TEEZU_EDGE_PORT": "0",  # nginx is the cache tier in front of each node's origin
        "TEEZU_VAR_DIR": str(var_dir),
        "TEEZU_PUBLIC_URL": topology.public_url(),
        "TEEZU_CLUSTER_HEARTBEAT_INTERVAL": str(topology.heartbeat_interval),
        "TEEZU_CLUSTER_HEARTBEAT_TTL": str(topology.heartbeat_ttl),
        **{f"TEEZU_{k.upper()}": v for k, v in topology.settings.items()},
    }


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child in its own session (a terminal's Ctrl-C does not reach it), logging to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )


def start_role(
    topology: Topology,
    role: str,
    node: str,
    port: int,
    *,
    dsn: str,
    redis_url: str,
    var_dir: Path,
    log: Path,
) -> subprocess.Popen[bytes]:
    env = role_env(topology, node, port, dsn=dsn, redis_url=redis_url, var_dir=var_dir)
    return spawn([sys.executable, "-m", "teezu.cli", role], log, env)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 90) -> None:
    """Until ``url`` answers 200; raises with the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{proc.args!r} exited ({proc.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered (log: {log})")
        time.sleep(0.1)


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server missing: run scripts/setup.sh")
    directory.mkdir(parents=True, exist_ok=True)
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = spawn([*args, "--dir", str(directory)], directory / "redis.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True)
        if ping.stdout.strip() == b"PONG":
            return proc
        time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not answer")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost (made once; local use only)."""
    cert, key = directory / "tls" / "localhost.crt", directory / "tls" / "localhost.key"
    if not cert.exists():
        cert.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "365", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        key.chmod(0o600)
    return cert, key


def start_nginx(door: FrontDoor) -> subprocess.Popen[bytes]:
    conf = write(door)
    check = subprocess.run([*command(conf), "-t"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused {conf}:\n{check.stderr}")
    proc = spawn(command(conf), door.directory / "nginx.out")
    wait_ready(proc, f"http://127.0.0.1:{door.http_port}/healthz", door.directory / "error.log")
    return proc


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def up(directory: Path, topology: Topology | None = None) -> dict[str, object]:
    from teezu.embedded_pg import EmbeddedPostgres
    from teezu.settings import Settings

    topology = topology or Topology()
    state_file = directory / "cluster.json"
    if state_file.exists():
        raise RuntimeError(f"{state_file} exists: `teezu cluster down` first")
    directory.mkdir(parents=True, exist_ok=True)
    var_dir = (directory / "var").resolve()
    started: list[dict[str, object]] = []
    state: dict[str, object] = {"processes": started, "postgres": None}

    def record(name: str, proc: subprocess.Popen[bytes]) -> None:
        started.append({"name": name, "pid": proc.pid, "start": _start_time(proc.pid)})
        state_file.write_text(json.dumps(state, indent=2))

    try:
        pg = EmbeddedPostgres(var_dir / "pg")
        was_running = pg.is_running()
        dsn = pg.start()
        if not was_running:
            state["postgres"] = str(pg.data_dir)
        state_file.write_text(json.dumps(state, indent=2))
        # The keys every role shares, made once before any role could race to make them.
        settings = Settings(var_dir=var_dir)
        settings.playback_key_bytes()
        settings.forensic_key_bytes()
        record("redis", start_redis(topology.redis_port, directory / "redis"))
        redis_url = f"redis://127.0.0.1:{topology.redis_port}/0"
        starting = []
        for role, node, port in topology.nodes():
            log = directory / "logs" / f"{node}.log"
            proc = start_role(
                topology, role, node, port, dsn=dsn, redis_url=redis_url, var_dir=var_dir, log=log
            )
            record(node, proc)
            starting.append((proc, port, log))
        for proc, port, log in starting:  # started side by side, then each waited for
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz", log)
        tls = self_signed(directory) if topology.https_port else None
        record("nginx", start_nginx(topology.front_door(directory / "nginx", tls)))
    except BaseException:
        down(directory)
        raise
    return state


def down(directory: Path) -> list[str]:
    """Stop what ``up`` recorded, newest first; return the names stopped."""
    from teezu.embedded_pg import EmbeddedPostgres

    state_file = directory / "cluster.json"
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    stopped = []
    procs = [p for p in reversed(state["processes"]) if _start_time(p["pid"]) == p["start"]]
    for p in procs:
        os.kill(p["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 20
    for p in procs:
        while _start_time(p["pid"]) == p["start"] and time.monotonic() < deadline:
            _reap(p["pid"])
            time.sleep(0.05)
        if _start_time(p["pid"]) == p["start"]:
            os.kill(p["pid"], signal.SIGKILL)
        _reap(p["pid"])
        stopped.append(p["name"])
    if state.get("postgres"):
        EmbeddedPostgres(Path(state["postgres"])).stop()
        stopped.append("postgres")
    state_file.unlink()
    return stopped


def _reap(pid: int) -> None:
    """Collect our own child's exit status (when ``up`` and ``down`` share a process)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


# The same topology with images (docker-compose.cluster.yml; no image can be pulled on the
# machine this was built on, so tests/unit/test_frontdoor.py checks the file is the one generated
# here). Host networking, as in docker-compose.yml: aiortc binds WebRTC media to ephemeral UDP
# ports, and the ports and the front door's configuration stay those of `teezu cluster up`.
COMPOSE_DIR = "/var/cache/nginx"  # exists in the image; nginx makes one level below
COMPOSE_TLS = (Path("/etc/teezu/tls/server.crt"), Path("/etc/teezu/tls/server.key"))


def compose(topology: Topology | None = None) -> tuple[str, str]:
    """(docker-compose.cluster.yml, deploy/nginx/cluster.conf) for ``topology``."""
    topology = topology or Topology()
    door = FrontDoor(
        **{**vars(topology.front_door(Path(COMPOSE_DIR), COMPOSE_TLS)), "user": "nginx"}
    )
    dsn = "postgresql://teezu:teezu@127.0.0.1:5433/teezu"
    redis_url = f"redis://127.0.0.1:{topology.redis_port}/0"
    lines = [
        "# Generated by `teezu cluster compose` from teezu/cluster.py's Topology: edit that.",
        "# The cluster of `teezu cluster up` with images; every service on the host network.",
        "services:",
        "  postgres:",
        "    image: pgvector/pgvector:pg16",
        "    environment: {POSTGRES_USER: teezu, POSTGRES_PASSWORD: teezu, POSTGRES_DB: teezu,",
        '                  PGPORT: "5433"}',
        "    network_mode: host",
        "    volumes: [pgdata:/var/lib/postgresql/data]",
        "    healthcheck:",
        '      test: ["CMD-SHELL", "pg_isready -U teezu -p 5433"]',
        "      interval: 5s",
        "      retries: 10",
        "  redis:",
        "    image: redis:7",
        f'    command: ["redis-server", "--port", "{topology.redis_port}", "--appendonly", "no"]',
        "    network_mode: host",
    ]
    for role, node, port in topology.nodes():
        env = {
            "TEEZU_DATABASE_URL": dsn,
            "TEEZU_REDIS_URL": redis_url,
            "TEEZU_NODE_ID": node,
            "TEEZU_HOST": "127.0.0.1",
            "TEEZU_PORT": str(port),
            "TEEZU_EDGE_PORT": "0",
            "TEEZU_VAR_DIR": "/var/lib/teezu",
            "TEEZU_PUBLIC_URL": topology.public_url(),
            "TEEZU_CLUSTER_HEARTBEAT_INTERVAL": str(topology.heartbeat_interval),
            "TEEZU_CLUSTER_HEARTBEAT_TTL": str(topology.heartbeat_ttl),
        }
        lines += [
            f"  {node}:",
            "    build: .",
            f'    command: ["teezu", "{role}"]',
            "    network_mode: host",
            "    depends_on:",
            "      postgres: {condition: service_healthy}",
            "      redis: {condition: service_started}",
            "    environment:",
            *(f'      {k}: "{v}"' for k, v in env.items()),
            "    volumes: [var:/var/lib/teezu]",
        ]
    lines += [
        "  nginx:",
        "    image: nginx:1.22",
        '    command: ["nginx", "-c", "/etc/teezu/nginx.conf"]',
        "    network_mode: host",
        f"    depends_on: [{', '.join(n for _, n, _ in topology.nodes())}]",
        "    volumes:",
        "      - ./deploy/nginx/cluster.conf:/etc/teezu/nginx.conf:ro",
        "      - ./deploy/nginx/tls:/etc/teezu/tls:ro",
        "volumes:",
        "  pgdata:",
        "  var:",
    ]
    return "\n".join(lines) + "\n", render(door)


def main(what: str, directory: Path) -> int:
    topology = Topology()
    if what == "compose":
        yml, conf = compose(topology)
        (ROOT / "docker-compose.cluster.yml").write_text(yml, encoding="utf-8")
        (ROOT / "deploy" / "nginx").mkdir(parents=True, exist_ok=True)
        (ROOT / "deploy" / "nginx" / "cluster.conf").write_text(conf, encoding="utf-8")
        print("wrote docker-compose.cluster.yml and deploy/nginx/cluster.conf")
        return 0
    if what == "config":
        tls = (directory / "tls" / "localhost.crt", directory / "tls" / "localhost.key")
        sys.stdout.write(render(topology.front_door(directory / "nginx", tls)))
        return 0
    if what == "down":
        stopped = down(directory)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing (no cluster.json)"))
        return 0
    up(directory, topology)
    print(
        "cluster up:\n"
        f"  front door: http://127.0.0.1:{topology.http_port}  "
        f"{topology.public_url()} (self-signed)\n"
        f"  roles: {', '.join(n for _, n, _ in topology.nodes())}; Redis :{topology.redis_port}\n"
        f"  logs: {directory / 'logs'}; stop with `teezu cluster down`"
    )
    return 0
