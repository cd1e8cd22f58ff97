"""The Erotic DNA quiz: 24 preferences, 4 intensity levels each, and the profile they make.

The product documents: "24+ voorkeuren met 4 intensiteitsniveaus. Onboarding quiz die
DNA-profiel opbouwt" and "Vectorstore van 8 mood-profielen". Each preference leans toward some
of the 8 moods (the watch room's mood colours); a member's profile is the sum of those leanings
weighted by their answers, scaled to unit length, so the cosine of two profiles compares how
alike two members' moods are. Pure data and functions; the quiz is served as it is written here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MOODS = ("calm", "playful", "flirty", "intense", "chill", "dreamy", "energetic", "mysterious")
LEVELS = 4  # 0 not for me, 1 curious, 2 into it, 3 love it
LEVEL_LABELS = {
    "en": ("Not for me", "Curious", "Into it", "Love it"),
    "nl": ("Niets voor mij", "Nieuwsgierig", "Vind ik leuk", "Dol op"),
}


@dataclass(frozen=True)
class Preference:
    key: str
    en: str
    nl: str
    moods: Mapping[str, float]  # mood -> how much the preference leans to it (0..1)


def _p(key: str, en: str, nl: str, **moods: float) -> Preference:
    assert set(moods) <= set(MOODS), moods
    return Preference(key, en, nl, moods)


QUIZ: tuple[Preference, ...] = (
    _p(
        "slow_tease",
        "Slow teasing that builds up",
        "Langzaam plagen dat opbouwt",
        flirty=1,
        dreamy=0.5,
    ),
    _p("dirty_talk", "Dirty talk", "Stoute praat", flirty=0.7, intense=0.7),
    _p(
        "roleplay",
        "Roleplay and scenarios",
        "Rollenspel en scenario's",
        playful=0.8,
        mysterious=0.6,
    ),
    _p(
        "dominance",
        "Taking the lead (dominance)",
        "De leiding nemen (dominantie)",
        intense=1,
        mysterious=0.3,
    ),
    _p(
        "submission",
        "Being led (submission)",
        "Geleid worden (onderdanigheid)",
        intense=0.8,
        dreamy=0.4,
    ),
    _p("exhibition", "Being watched", "Bekeken worden", energetic=0.6, flirty=0.6),
    _p("voyeur", "Watching", "Kijken", mysterious=0.8, calm=0.3),
    _p("lingerie", "Lingerie and outfits", "Lingerie en outfits", flirty=1, playful=0.3),
    _p("cosplay", "Cosplay and costumes", "Cosplay en kostuums", playful=1, energetic=0.3),
    _p("asmr", "Whispers and ASMR", "Fluisteren en ASMR", calm=1, dreamy=0.6),
    _p("dance", "Dancing and strip tease", "Dansen en striptease", energetic=1, flirty=0.5),
    _p("toys", "Toys", "Speeltjes", intense=0.6, playful=0.6),
    _p("couples", "Couples on cam", "Koppels voor de camera", energetic=0.5, intense=0.5),
    _p(
        "romance",
        "Romance and slow connection",
        "Romantiek en een langzame klik",
        dreamy=1,
        calm=0.5,
    ),
    _p("massage", "Sensual massage", "Sensuele massage", calm=0.8, dreamy=0.6),
    _p("light_bondage", "Light bondage", "Lichte bondage", intense=0.8, mysterious=0.6),
    _p("spanking", "Spanking", "Billenkoek", intense=1, playful=0.3),
    _p("praise", "Praise and sweet words", "Complimenten en lieve woorden", calm=0.6, dreamy=0.6),
    _p("instructions", "Following instructions", "Instructies volgen", intense=0.6, mysterious=0.5),
    _p(
        "outdoor",
        "Outdoor and adventurous places",
        "Buiten en avontuurlijke plekken",
        energetic=0.8,
        mysterious=0.4,
    ),
    _p("cam2cam", "Cam to cam", "Cam naar cam", flirty=0.6, intense=0.5),
    _p("storytelling", "Fantasy storytelling", "Fantasieverhalen", dreamy=1, mysterious=0.5),
    _p("masks", "Masks and mystery", "Maskers en mysterie", mysterious=1),
    _p("cosy_chat", "Cosy chats and hanging out", "Gezellig kletsen en chillen", chill=1, calm=0.5),
    _p("gaming", "Gaming and games together", "Samen gamen en spelletjes", playful=0.8, chill=0.6),
    _p("party", "Party vibes and music", "Feeststemming en muziek", energetic=1, playful=0.4),
)
KEYS = tuple(p.key for p in QUIZ)
BY_KEY = {p.key: p for p in QUIZ}

# Preferences that meet their counterpart in the other person (one leads, one is led).
COMPLEMENTS: tuple[tuple[str, str], ...] = (("dominance", "submission"), ("exhibition", "voyeur"))


class AnswerError(ValueError):
    """An answer that is not in the quiz (``field``) or out of range."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_answers(answers: Mapping[str, int]) -> dict[str, int]:
    """The answers, complete (a preference left out counts as 0); raises `AnswerError`."""
    for key, level in answers.items():
        if key not in BY_KEY:
            raise AnswerError(f"{key!r} is not a preference of the quiz", key)
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level < LEVELS:
            raise AnswerError(f"{key!r}: the level must be an integer 0..{LEVELS - 1}", key)
    return {k: int(answers.get(k, 0)) for k in KEYS}


def profile_vector(answers: Mapping[str, int]) -> list[float]:
    """The unit vector over `MOODS` the answers make (equal parts when nothing is chosen)."""
    out = [0.0] * len(MOODS)
    for p in QUIZ:
        level = answers.get(p.key, 0) / (LEVELS - 1)
        for mood, weight in p.moods.items():
            out[MOODS.index(mood)] += level * weight
    norm = math.sqrt(sum(x * x for x in out))
    if norm == 0:
        return [1 / math.sqrt(len(MOODS))] * len(MOODS)
    return [x / norm for x in out]


def dominant_mood(profile: list[float]) -> str:
    return MOODS[max(range(len(MOODS)), key=lambda i: (profile[i], -i))]
