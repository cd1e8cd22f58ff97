"""The companions' boundary rules, enforced before any reply is made.

A prompt crosses a rule when one of the rule's patterns (English and Dutch) matches it, or when
its meaning is near the rule's example prompts: nearer than ``threshold`` (cosine) and nearer
than every allowed example by at least ``margin``. The patterns catch the plain words; the
embeddings catch paraphrases the patterns miss. The rules, their refusals and their examples are
data (``api/ai/data/boundaries.json``); which rules a persona keeps is in its config.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "boundaries.json"


@dataclass(frozen=True)
class Rule:
    key: str
    refusal: dict[str, str]
    patterns: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Boundaries:
    rules: dict[str, Rule]
    allowed: tuple[str, ...]
    threshold: float
    margin: float

    def examples(self, keys: list[str]) -> tuple[list[str], list[str]]:
        """(example texts, the rule of each) of the rules in ``keys``."""
        texts, owners = [], []
        for key in keys:
            for example in self.rules[key].examples:
                texts.append(example)
                owners.append(key)
        return texts, owners


def load(path: Path = DATA) -> Boundaries:
    """Read the rules (blocking: call at start-up, off the loop)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rules = {
        r["key"]: Rule(
            key=r["key"],
            refusal=dict(r["refusal"]),
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in r["patterns"]),
            examples=tuple(r["examples"]),
        )
        for r in data["rules"]
    }
    return Boundaries(
        rules, tuple(data["allowed"]), float(data["threshold"]), float(data["margin"])
    )


def by_pattern(b: Boundaries, keys: list[str], prompt: str) -> str | None:
    """The first of ``keys`` whose pattern matches ``prompt``."""
    for key in keys:
        if any(p.search(prompt) for p in b.rules[key].patterns):
            return key
    return None


def by_meaning(
    b: Boundaries, owners: list[str], rule_sims: np.ndarray, allowed_sims: np.ndarray
) -> str | None:
    """The rule whose example is nearest the prompt, if near enough and nearer than every
    allowed example by the margin (sims are cosines of the prompt to each example)."""
    if len(rule_sims) == 0:
        return None
    best = int(np.argmax(rule_sims))
    near = float(rule_sims[best])
    allowed = float(np.max(allowed_sims)) if len(allowed_sims) else -1.0
    if near >= b.threshold and near >= allowed + b.margin:
        return owners[best]
    return None


def refusal(b: Boundaries, key: str, lang: str) -> str:
    r = b.rules[key].refusal
    return r.get(lang) or r["en"]
