"""Where a chat delivery's microseconds go: py-spy on the API process under `bench_chat.py`.

`record` starts ``py-spy record`` (raw format, 100 Hz, busy samples only: a thread waiting in
epoll is not sampled) on the server for the measured window; `summarize` reads its output and
puts every sample of the event-loop thread in one stage of a message's path, by the innermost
frame of the stack that belongs to a stage (so ``json.dumps`` called by the room emit counts as
JSON, and the emit's own lines as the fan-out). Dividing a stage's samples by the window's
deliveries gives its microseconds per delivery. uvloop's loop is C: its own work (reading
sockets, running callbacks) shows as ``run_app`` with no Python frame below; the kernel's
share of a socket write shows inside the Python frame that called it. On a machine whose
other processes hold the CPUs, a sample also counts time the thread waited to be scheduled.

    .venv/bin/python loadtests/bench_chat.py --scenarios busy --rates 1 --profile
    .venv/bin/python loadtests/chat_profile.py PROFILE.raw --deliveries N [--messages M]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 100

# (stage, markers in a frame's "function (file)"): the first stage, scanning a stack from its
# leaf, one of whose markers is in the frame
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("JSON encode/decode", ("json/", "(json", "ujson", "orjson")),
    ("pydantic validation", ("pydantic",)),
    ("PostgreSQL hand-off (asyncpg)", ("asyncpg/",)),
    ("Redis", ("redis/",)),
    ("room emit: encode once, write per member", ("api/websocket_transport.py",)),
    ("batching (api/chat/fanout.py)", ("api/chat/fanout.py",)),
    ("history writer (api/chat/store.py)", ("api/chat/store.py",)),
    ("screening, limits, presence", ("chat/screening", "chat/filter", "ratelimit", "presence")),
    ("chat service (api/chat)", ("api/chat/", "api/realtime.py")),
    ("python-socketio: event dispatch, ack", ("socketio/",)),
    ("engine.io: receive, queue, writer task", ("engineio/",)),
    ("aiohttp: WebSocket frames, HTTP", ("aiohttp/_", "aiohttp/web_", "aiohttp/http")),
    ("asyncio: tasks, futures, timers", ("asyncio/", "uvloop")),
    ("uvloop (C): socket reads, callbacks", ("run_app (",)),
]
OTHER = "other"
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` of ``pid`` for ``seconds`` into ``out`` (None: py-spy not installed)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(spy, os.X_OK):
        print("py-spy not found (pip install py-spy): no profile", flush=True)
        return None
    cmd = [
        spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
        "--rate", str(RATE_HZ), "--format", "raw", "--output", str(out), "--nonblocking",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _idle(leaf: str) -> bool:
    fn, _, file = leaf.partition(" (")
    if fn == "Runner.run" and "asyncio/runners.py" in file:
        return True  # uvloop's C loop waiting in epoll
    if "run_forever" in fn and not file.startswith("asyncio/"):
        return True
    return "selectors.py" in file and fn.rsplit(".", 1)[-1] in ("select", "poll")


def _stage(frames: list[str]) -> str:
    for frame in reversed(frames):
        for stage, markers in STAGES:
            if any(m in frame for m in markers):
                return stage
    return OTHER


@dataclass
class Profile:
    samples: int  # all samples of every thread
    busy: int  # the event-loop thread's samples not waiting
    stages: Counter[str]
    leaves: Counter[str]  # busy samples by their innermost frame


def read(path: Path) -> Profile:
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = busy = 0
    for line in path.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        total += count
        frames = stack.split(";")
        main = "run_app" in stack or "run_forever" in stack or "Runner.run" in stack
        if not main or _idle(frames[-1]):
            continue
        busy += count
        stages[_stage(frames)] += count
        m = _FRAME.match(frames[-1])
        leaves[f"{m['fn']} ({Path(m['file']).name})" if m else frames[-1]] += count
    return Profile(total, busy, stages, leaves)


def summarize(path: Path, deliveries: float, messages: float = 0.0, top: int = 12) -> str:
    """The profile as text: each stage's share of the busy samples and µs per delivery."""
    p = read(path)
    per = 1e6 / RATE_HZ / max(deliveries, 1.0)  # µs per delivery of one sample
    lines = [
        f"profile (py-spy {RATE_HZ} Hz): {p.busy} busy samples of the event loop "
        f"({p.busy / RATE_HZ:.1f} s), {deliveries:.0f} deliveries"
        + (f" of {messages:.0f} messages" if messages else "")
        + f": {p.busy * per:.1f} µs per delivery",
        f"  {'stage':<44} {'share':>6} {'µs/delivery':>12}"
        + (f" {'µs/message':>11}" if messages else ""),
    ]
    for stage, n in p.stages.most_common():
        row = f"  {stage:<44} {100 * n / max(p.busy, 1):5.1f}% {n * per:12.2f}"
        if messages:
            row += f" {n * 1e6 / RATE_HZ / messages:11.1f}"
        lines.append(row)
    lines.append("  busiest innermost frames:")
    for leaf, n in p.leaves.most_common(top):
        lines.append(f"    {100 * n / max(p.busy, 1):5.1f}%  {leaf}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("raw", type=Path, help="py-spy raw output")
    ap.add_argument("--deliveries", type=float, required=True, help="deliveries in the window")
    ap.add_argument("--messages", type=float, default=0.0, help="messages sent in the window")
    args = ap.parse_args()
    print(summarize(args.raw, args.deliveries, args.messages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
