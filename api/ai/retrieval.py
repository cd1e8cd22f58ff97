"""Retrieval: the passages nearest in meaning to a prompt, by the node's text embeddings.

Texts are embedded in the embedding workers (`workers.embeddings`); their vectors are cached by
model and text hash, so a creator's corpus or a persona's lines are embedded once per node. The
cosines (a few hundred dot products) run on a thread: never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict

import numpy as np

from api.ai.llm import Passage
from workers.embeddings import EmbeddingPool

CACHE = 20_000  # vectors kept per node (512 floats each: ~40 MB)


def _key(model: str, text: str) -> str:
    return model + ":" + hashlib.sha256(text.encode()).hexdigest()[:32]


def rank(
    query: np.ndarray,
    vectors: np.ndarray,
    passages: list[Passage],
    *,
    k: int,
    boost: dict[str, float] | None = None,
) -> list[Passage]:
    """The ``k`` passages whose vectors are nearest ``query`` (unit vectors: dot = cosine), best
    first, each with its score; ``boost`` adds to the score of the passage ids it names."""
    if not passages:
        return []
    scores = vectors @ query
    if boost:
        scores = scores + np.array([boost.get(p.id, 0.0) for p in passages], dtype=np.float32)
    order = np.argsort(-scores, kind="stable")[:k]
    return [Passage(passages[i].id, passages[i].text, round(float(scores[i]), 4)) for i in order]


class Retriever:
    def __init__(self, embeddings: EmbeddingPool) -> None:
        self.embeddings = embeddings
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    async def vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text (cached ones reused; the rest embedded in one call)."""
        model, dim = await self.embeddings.model()
        keys = [_key(model, t) for t in texts]
        missing = sorted({i for i, k in enumerate(keys) if k not in self._cache})
        if missing:
            made = await self.embeddings.embed([texts[i] for i in missing])
            for i, v in zip(missing, made, strict=True):
                self._cache[keys[i]] = v
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = self._cache[k]
            self._cache.move_to_end(k)
        while len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return out

    async def retrieve(
        self,
        prompt: str,
        passages: list[Passage],
        *,
        k: int = 4,
        boost: dict[str, float] | None = None,
    ) -> list[Passage]:
        """The ``k`` passages nearest ``prompt``, best first, with their scores."""
        if not passages:
            return []
        vectors = await self.vectors([prompt, *(p.text for p in passages)])
        return await asyncio.to_thread(rank, vectors[0], vectors[1:], passages, k=k, boost=boost)

    async def similarities(self, prompt: str, texts: list[str]) -> np.ndarray:
        """Cosine of ``prompt`` to each text."""
        vectors = await self.vectors([prompt, *texts])
        return await asyncio.to_thread(np.dot, vectors[1:], vectors[0])
