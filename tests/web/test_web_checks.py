"""The web app's own checks, run by the suite: the typed API client is current, TypeScript
type-checks (strict), ESLint is clean, and the Vitest unit tests of components and stores pass.

Each runs the web app's npm script with the Node.js that ``scripts/setup.sh`` put in ``.venv``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
BIN = Path(sys.executable).parent  # .venv/bin: node, npm, npx (setup.sh) and teezu


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "CI": "1"}
    return subprocess.run(
        args, cwd=WEB, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_generated_api_client_matches_the_openapi_document(tmp_path: Path) -> None:
    """The pages cannot drift from the API: regenerating the types changes nothing."""
    spec = tmp_path / "openapi.json"
    out = tmp_path / "schema.d.ts"
    r = run(str(BIN / "teezu"), "openapi", "-o", str(spec))
    assert r.returncode == 0, r.stderr
    r = run(
        str(BIN / "npx"),
        "--no-install",
        "openapi-typescript",
        str(spec),
        "--default-non-nullable",
        "false",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    fresh = out.read_text(encoding="utf-8")
    assert fresh == committed, (
        "web/src/api/schema.d.ts is out of date with the API: run `npm run gen:api` in web/"
    )


@pytest.mark.parametrize("script", ["typecheck", "lint", "test"])
def test_npm_script_passes(script: str) -> None:
    r = run(str(BIN / "npm"), "run", "--silent", script)
    assert r.returncode == 0, f"npm run {script} failed:\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}"
