"""Start and stop ``teezu api`` processes (the API role) on a test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What the test settings lift too: thousands of requests and sign-ins from 127.0.0.1, and
# bcrypt at its lowest cost (the product's cost 12 is checked in tests/unit/test_passwords.py).
TEST_SETTINGS = {
    "rate_limit_requests": "1000000",
    "auth_rate_limit_requests": "1000000",
    "login_backoff_ip_after": "1000000",
    "bcrypt_rounds": "4",
}


def start_node(dsn: str, var_dir: Path, port: int, **settings: str) -> subprocess.Popen[bytes]:
    """Start ``teezu api`` and wait until ``/readyz`` answers; ``settings`` become TEEZU_*."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TEEZU_DATABASE_URL": dsn,
        "TEEZU_PORT": str(port),
        "TEEZU_VAR_DIR": str(var_dir),
        "TEEZU_PLAYBACK_KEY": "api-node-test-key",
        **{f"TEEZU_{k.upper()}": v for k, v in {**TEST_SETTINGS, **settings}.items()},
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "node.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "teezu.cli", "api"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"API node exited: {(var_dir / 'node.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as res:
                if res.status == 200:
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"API node on port {port} never became ready")
        time.sleep(0.1)


def stop_node(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
