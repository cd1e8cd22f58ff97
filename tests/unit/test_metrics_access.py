"""Who may read ``/metrics``, and the deploy/ files Prometheus and Grafana load."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from teezu.metrics import may_scrape

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.parametrize(
    ("token", "peer", "authorization", "allowed"),
    [
        ("", "127.0.0.1", None, True),
        ("", "::1", None, True),
        ("", "10.0.0.5", None, False),
        ("", None, None, False),
        ("s3cret", "127.0.0.1", None, False),
        ("s3cret", "10.0.0.5", "Bearer s3cret", True),
        ("s3cret", "10.0.0.5", "Bearer wrong", False),
        ("s3cret", "10.0.0.5", "Bearer ", False),
    ],
)
def test_who_may_scrape(token, peer, authorization, allowed):
    assert may_scrape(token, peer, authorization) is allowed


def test_alert_rules_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/setup.sh --test installs Debian's prometheus"
    rules = DEPLOY / "prometheus" / "alerts.yml"
    check = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    check = subprocess.run(
        [
            promtool,
            "check",
            "config",
            "--syntax-only",
            str(DEPLOY / "prometheus" / "prometheus.yml"),
        ],
        capture_output=True,
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_dashboard_queries_only_exported_metrics():
    """Every metric name a dashboard panel or an alert reads is one /metrics exports (docs)."""
    dashboard = json.loads((DEPLOY / "grafana" / "teezu-operations.json").read_text())
    documented = (DEPLOY.parent / "docs" / "operations.md").read_text()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append((DEPLOY / "prometheus" / "alerts.yml").read_text())
    names = {n for e in exprs for n in re.findall(r"\bteezu_[a-z_]+", e)}
    assert names
    for name in names:
        base = re.sub(r"_(total|bucket|sum|count)$", "", name)
        assert base in documented or name in documented, name
