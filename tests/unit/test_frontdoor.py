"""The generated front door configuration is one nginx accepts (``nginx -t``), with TLS too."""

from __future__ import annotations

import subprocess
from pathlib import Path

from teezu.cluster import Topology, self_signed
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
