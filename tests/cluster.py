"""A cluster of real processes for tests: 2 API nodes, 2 ingest nodes, 1 worker, nginx in front.

Started from the same functions as ``teezu cluster up`` (``teezu/cluster.py``), on free ports,
sharing the session's PostgreSQL and a private redis-server.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from teezu.cluster import Topology, start_nginx, start_role, wait_ready
from tests.apinode import TEST_SETTINGS
from tests.conftest import free_port


@dataclass
class Cluster:
    topology: Topology
    front_door: str  # http://127.0.0.1:port (nginx)
    procs: dict[str, subprocess.Popen[bytes]]  # node id (and "nginx") -> process
    directory: Path

    def url(self, node: str) -> str:
        port = next(p for _, n, p in self.topology.nodes() if n == node)
        return f"http://127.0.0.1:{port}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_cluster(
    dsn: str, redis_url: str, directory: Path, **settings: str
) -> Iterator[Cluster]:
    http_port = free_port()
    topology = Topology(
        http_port=http_port,
        https_port=None,
        api_ports=(free_port(), free_port()),
        ingest_ports=(free_port(), free_port()),
        worker_ports=(free_port(),),
        redis_port=0,
        unavailable_port=free_port(),
        heartbeat_interval=0.5,
        heartbeat_ttl=2.0,
        settings={
            **TEST_SETTINGS,
            "playback_key": "cluster-test-key",
            "forensic_key": "cluster-test-forensic-key",
            "moderation_enabled": "false",
            "post_scan_enabled": "false",
            "age_gate_enabled": "false",
            "mood_enabled": "false",
            "ai_vibe_refresh": "86400",
            "publisher_media_timeout": "4",
            **settings,
        },
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    var_dir = directory / "var"
    try:
        starting = []
        for role, node, port in topology.nodes():
            log = directory / "logs" / f"{node}.log"
            procs[node] = start_role(
                topology, role, node, port, dsn=dsn, redis_url=redis_url, var_dir=var_dir, log=log
            )
            starting.append((procs[node], port, log))
        for proc, port, log in starting:  # in parallel: the 2 cores start them side by side
            wait_ready(proc, f"http://127.0.0.1:{port}/readyz", log)
        procs["nginx"] = start_nginx(topology.front_door(directory / "nginx", None))
        yield Cluster(topology, f"http://127.0.0.1:{http_port}", procs, directory)
    finally:
        for proc in reversed(list(procs.values())):
            _stop(proc)
