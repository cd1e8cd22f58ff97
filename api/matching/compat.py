"""Compatibility of two members: pure functions, symmetric by construction (tested).

`kink_compatibility` compares quiz answers preference by preference (and the complementary
pairs across: one who likes to lead with one who likes to be led); `match_score` blends it with
the cosine of the two mood profiles and a shared language; `explain` says why, in keys the web
app translates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from api.matching.dna import BY_KEY, COMPLEMENTS, KEYS, LEVELS, MOODS

_TOP = LEVELS - 1
# The weights of the blend (sum 1): how alike the moods are, how well the answers fit, language.
W_PROFILE, W_KINK, W_LANGUAGE = 0.45, 0.4, 0.15


def _fit(x: int, y: int) -> tuple[float, float]:
    """``(agreement 0..1, weight)`` of two levels: two zeros say nothing (weight 0)."""
    weight = max(x, y) / _TOP
    return 1 - abs(x - y) / _TOP, weight


def kink_compatibility(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """0..1: how well two members' answers fit, weighted by how much either cares.

    Complementary pairs are compared across (a's lead with b's being led, and the reverse);
    members with no interest in anything score 0.
    """
    total = weight_sum = 0.0
    crossed = {k for pair in COMPLEMENTS for k in pair}
    for key in KEYS:
        if key in crossed:
            continue
        agree, weight = _fit(a.get(key, 0), b.get(key, 0))
        total += agree * weight
        weight_sum += weight
    for p, q in COMPLEMENTS:
        for x, y in ((a.get(p, 0), b.get(q, 0)), (a.get(q, 0), b.get(p, 0))):
            agree, weight = _fit(x, y)
            total += agree * weight
            weight_sum += weight
    return total / weight_sum if weight_sum else 0.0


def profile_similarity(u: Sequence[float], v: Sequence[float]) -> float:
    """Cosine of two mood profiles (unit vectors with no negative part: 0..1)."""
    return max(0.0, min(1.0, sum(x * y for x, y in zip(u, v, strict=True))))


def language_fit(a: Sequence[str], b: Sequence[str]) -> float:
    """1 with a language in common, 0.5 when either gave none, else 0."""
    if not a or not b:
        return 0.5
    return 1.0 if set(a) & set(b) else 0.0


def match_score(
    a_answers: Mapping[str, int],
    a_profile: Sequence[float],
    a_languages: Sequence[str],
    b_answers: Mapping[str, int],
    b_profile: Sequence[float],
    b_languages: Sequence[str],
) -> float:
    """0..1, the same whichever member is ``a``."""
    score = (
        W_PROFILE * profile_similarity(a_profile, b_profile)
        + W_KINK * kink_compatibility(a_answers, b_answers)
        + W_LANGUAGE * language_fit(a_languages, b_languages)
    )
    return round(max(0.0, min(1.0, score)), 4)


@dataclass(frozen=True)
class Why:
    """Why two members match: what they share, for the web app to say in words."""

    shared: list[str]  # preference keys both are into (level >= 2), strongest first
    complements: list[str]  # "dominance/submission" pairs where one leads and one is led
    mood: str | None  # the dominant mood of both, if it is the same
    languages: list[str]
    profile: float
    kink: float


def explain(
    a_answers: Mapping[str, int],
    a_profile: Sequence[float],
    a_languages: Sequence[str],
    b_answers: Mapping[str, int],
    b_profile: Sequence[float],
    b_languages: Sequence[str],
) -> Why:
    both = [k for k in KEYS if min(a_answers.get(k, 0), b_answers.get(k, 0)) >= 2 and k in BY_KEY]
    both.sort(key=lambda k: -(a_answers.get(k, 0) + b_answers.get(k, 0)))
    complements = [
        f"{p}/{q}"
        for p, q in COMPLEMENTS
        if min(a_answers.get(p, 0), b_answers.get(q, 0)) >= 2
        or min(a_answers.get(q, 0), b_answers.get(p, 0)) >= 2
    ]
    mood_a = MOODS[max(range(len(MOODS)), key=lambda i: a_profile[i])]
    mood_b = MOODS[max(range(len(MOODS)), key=lambda i: b_profile[i])]
    return Why(
        shared=both[:5],
        complements=complements,
        mood=mood_a if mood_a == mood_b else None,
        languages=sorted(set(a_languages) & set(b_languages)),
        profile=round(profile_similarity(a_profile, b_profile), 4),
        kink=round(kink_compatibility(a_answers, b_answers), 4),
    )
