"""A CPU burner for overload phases: processes that each keep one core busy until stopped.

Benchmarks use it to measure behaviour while another program takes a core (the way a noisy
neighbour or a second broadcast would), e.g. ``with cpu_burner(1): ...``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator


def _burn(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for _ in range(100_000):  # check the flag ~100 times a second
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF


@contextlib.contextmanager
def cpu_burner(cores: int = 1) -> Iterator[list[int]]:
    """Keep ``cores`` cores busy inside the ``with`` block; yields the burners' pids."""
    if cores <= 0:
        yield []
        return
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_burn, args=(stop,), daemon=True) for _ in range(cores)]
    for p in procs:
        p.start()
    try:
        yield [p.pid for p in procs if p.pid is not None]
    finally:
        stop.set()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
