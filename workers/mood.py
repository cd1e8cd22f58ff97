"""Mood of a chat line: the nearest of the 8 moods, polarity and intensity, in any of the
embedding model's languages (Dutch and English among them).

The mood is the nearest prototype: the mean embedding of a few example lines per mood
(`data/mood_prototypes.json`). Polarity is where the line falls between the prototypes of
clearly positive and clearly negative lines (the same multilingual space, so Dutch works as
English does; VADER's lexicon is English only). Intensity adds what the words do not carry:
exclamation marks, capitals, repeated letters and emoji. Pure functions over an `Embedder`;
they run in the embedding workers (`workers.embeddings`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.embeddings import Embedder

PROTOTYPES = Path(__file__).with_name("data") / "mood_prototypes.json"
MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")
POLARITY_SCALE = 4.0  # (cos to positive - cos to negative) of clear lines is about +-0.25

_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
_REPEAT = re.compile(r"(\w)\1{2,}")


@dataclass(frozen=True, slots=True)
class Mood:
    mood: str
    confidence: float  # cosine to the mood's prototype
    polarity: float  # -1 (negative) .. 1 (positive)
    intensity: float  # 0 .. 1


class MoodModel:
    """The 8 prototypes and the polarity axis, made once from an embedder."""

    def __init__(self, embedder: Embedder, prototypes: Path = PROTOTYPES) -> None:
        data = json.loads(prototypes.read_text())
        self.embedder = embedder
        assert tuple(data["moods"]) == MOODS
        self.centroids = np.stack([self._centroid(data["moods"][m]) for m in MOODS])
        self.positive = self._centroid(data["polarity"]["positive"])
        self.negative = self._centroid(data["polarity"]["negative"])

    def _centroid(self, lines: list[str]) -> np.ndarray:
        mean = self.embedder.encode(lines).mean(axis=0)
        return mean / np.linalg.norm(mean)

    def analyse(self, texts: list[str]) -> list[Mood]:
        if not texts:
            return []
        vectors = self.embedder.encode(texts)
        scores = vectors @ self.centroids.T
        polarity = np.clip(
            (vectors @ self.positive - vectors @ self.negative) * POLARITY_SCALE, -1, 1
        )
        out = []
        for text, row, pol in zip(texts, scores, polarity, strict=True):
            best = int(np.argmax(row))
            out.append(
                Mood(
                    MOODS[best],
                    round(float(row[best]), 4),
                    round(float(pol), 4),
                    round(intensity(text, float(pol)), 4),
                )
            )
        return out


def intensity(text: str, polarity: float) -> float:
    """0..1: how strongly a line is said (its polarity's size, marks, capitals, emoji)."""
    letters = [c for c in text if c.isalpha()]
    caps = sum(c.isupper() for c in letters) / len(letters) if len(letters) >= 4 else 0.0
    marks = min(text.count("!"), 3) / 3
    emoji = min(len(_EMOJI.findall(text)), 3) / 3
    repeats = 1.0 if _REPEAT.search(text) else 0.0
    return min(
        1.0, 0.45 * abs(polarity) + 0.25 * marks + 0.15 * caps + 0.1 * emoji + 0.05 * repeats
    )
