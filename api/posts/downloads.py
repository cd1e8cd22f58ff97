"""Downloads carry their viewer's forensic mark (``engine.forensic``), rendered in processes.

Marking re-encodes a video (libx264) or a picture: seconds of CPU, so it runs in a small pool
of spawned processes (``forensic_render_workers``), never on the event loop nor in a thread
that would hold the GIL against it. ``teezu watermark identify FILE`` reads the viewer back.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
}


def render_marked(kind: str, content_type: str, data: bytes, key: bytes, viewer: int) -> bytes:
    """``data`` carrying ``viewer``'s mark: a JPEG for a picture, an MP4 for a video. Blocking."""
    from workers.forensic_render import apply_image_mark, apply_mark

    with tempfile.TemporaryDirectory(prefix="teezu-mark-") as tmp:
        source = Path(tmp) / ("source" + EXTENSIONS.get(content_type, ""))
        source.write_bytes(data)
        if kind == "image":
            target = Path(tmp) / "marked.jpg"
            apply_image_mark(source, target, key, viewer)
        else:
            target = Path(tmp) / "marked.mp4"
            apply_mark(source, target, key, viewer)
        return target.read_bytes()


class ForensicRenderer:
    """The node's marking processes, started on the first download."""

    def __init__(self, key: bytes, workers: int = 1) -> None:
        self.key = key
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    async def render(self, kind: str, content_type: str, data: bytes, viewer: int) -> bytes:
        """``data`` marked for ``viewer`` (a 64-bit number: ``viewer_number``)."""
        if self._executor is None:
            # Spawning forks and execs: done in a thread, not on the loop.
            executor = await asyncio.to_thread(self._spawn)
            if self._executor is None:
                self._executor = executor
            else:  # another download started it meanwhile
                await asyncio.to_thread(executor.shutdown)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, render_marked, kind, content_type, data, self.key, viewer
        )

    def _spawn(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )
        # Submitted together, so that each finds no idle process and one is started for it.
        for started in [executor.submit(int) for _ in range(self.workers)]:
            started.result()
        return executor

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
