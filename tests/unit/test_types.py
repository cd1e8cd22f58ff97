"""mypy over the packages ([tool.mypy] in pyproject.toml: strict for engine/, hls/, ingest/,
live/, the default elsewhere), and every ``type: ignore`` it is spared says which error and why."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
# `# type: ignore[code, ...]  # why`, the reason on the same line.
JUSTIFIED = re.compile(r"# type: ignore\[[a-z-]+(, ?[a-z-]+)*\]  # \S")


def test_mypy_is_clean():
    # mypy keeps its cache in .mypy_cache: a warm run takes seconds, a fresh clone's ~1 minute.
    run = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_type_ignore_names_its_error_and_reason():
    unjustified = []
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), start=1):
                if "type: ignore" in line and not JUSTIFIED.search(line):
                    unjustified.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not unjustified, "say which error and why, on the line:\n" + "\n".join(unjustified)
