"""What the benchmarks share: free ports, percentiles, the machine they ran on, the JSON report.

Each benchmark prints its figures against a reference measured in the same run; these helpers
only keep the plumbing in one place (tests/loadtests/test_bench_smokes.py runs every benchmark
at smoke size).
"""

from __future__ import annotations

import json
import math
import os
import platform
import socket
from pathlib import Path
from typing import Any

import numpy as np


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Any, q: float) -> float:
    """The q-th percentile (0-100) of ``values`` by nearest rank: the smallest value with at
    least q % of them at or below it (never an interpolated value); NaN when empty."""
    a = np.asarray(values, dtype=float)
    if a.size == 0:
        return math.nan
    return float(np.percentile(a, q, method="inverted_cdf"))


def percentiles(values: Any, qs: tuple[float, ...] = (50, 90, 99)) -> dict[str, float]:
    """``{"50": ..., "90": ..., "99": ..., "max": ...}`` (NaN when empty)."""
    a = np.asarray(values, dtype=float)
    out = {f"{q:g}": percentile(a, q) for q in qs}
    out["max"] = float(a.max()) if a.size else math.nan
    return out


def loadavg() -> str:
    """``uptime``'s three load averages, as the figures in docs/benchmarks.md quote them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info() -> dict[str, Any]:
    """The CPU (model, SIMD, quota), the kernel, Python and the load at the start of a run."""
    model, mhz, flags = "?", "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, val = line.partition(":")
            k, val = k.strip(), val.strip()
            if k == "model name" and model == "?":
                model = val
            elif k == "cpu MHz" and mhz == "?":
                mhz = val
            elif k == "flags" and not flags:
                flags = set(val.split())
    except OSError:
        pass
    quota = "n/a"
    try:
        q, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        quota = "none" if q == "max" else f"{int(q) / int(period):g} CPUs"
    except (OSError, ValueError):
        pass
    simd = [f for f in ("sse4_2", "avx", "avx2", "avx512f", "avx512bw") if f in flags]
    if "hypervisor" in flags:
        simd.append("virtual machine")
    return {
        "cpu": model,
        "mhz": mhz,
        "simd": " ".join(simd),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cgroup_cpu_quota": quota,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_start": loadavg(),
    }


def write_report(path: Path | None, result: Any) -> None:
    """The run's figures as JSON at ``path`` (the benchmarks' ``--json``); nothing when None."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str))
