"""The generated front door configuration is one nginx accepts (``nginx -t``), with TLS too."""

from __future__ import annotations

import subprocess
from pathlib import Path

from teezu.cluster import ROOT, Topology, compose, self_signed
from teezu.frontdoor import command, upstream_name, write


def test_generated_configuration_passes_nginx_check(tmp_path: Path) -> None:
    topology = Topology()
    door = topology.front_door(tmp_path / "nginx", self_signed(tmp_path))
    conf = write(door)
    text = conf.read_text()
    check = subprocess.run([*command(conf), "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    # Every ingest node is an upstream the placement's answer can name.
    for node in ("ingest-0", "ingest-1"):
        assert f"{node} {upstream_name(node)};" in text
    assert "ssl http2" in text and "ssl_protocols TLSv1.3" in text
    assert "proxy_cache_lock on" in text and "ip_hash" in text


def test_compose_file_and_its_nginx_config_are_the_generated_ones() -> None:
    """docker-compose.cluster.yml and deploy/nginx/cluster.conf come from the same topology as
    `teezu cluster up` (no image can be pulled here to run them): regenerate with
    `.venv/bin/teezu cluster compose` after changing teezu/cluster.py or teezu/frontdoor.py."""
    yml, conf = compose()
    assert (ROOT / "docker-compose.cluster.yml").read_text() == yml
    assert (ROOT / "deploy" / "nginx" / "cluster.conf").read_text() == conf
    topology = Topology()
    for role, node, port in topology.nodes():  # every role, on the ports up uses
        assert f"  {node}:\n" in yml and f'command: ["teezu", "{role}"]' in yml
        assert f'TEEZU_PORT: "{port}"' in yml
        assert (f"server 127.0.0.1:{port}" in conf) == (role != "worker")  # workers: no traffic
