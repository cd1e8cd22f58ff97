"""What happens to a message before anyone sees it: pure decisions, no I/O.

A creator's `SafetySettings` apply in every room of their streams. Two checks can object to a
message: the creator's banned words (`api.chat.normalize`) and the profanity classifier
(`api.chat.filter`, scores from 0 to 1 against the creator's threshold). Each has an action;
the most severe wins: ``block`` (refused, the sender gets ``MESSAGE_BLOCKED``) > ``hold`` (kept
for a moderator to approve or remove) > ``mask`` (sent with the offending words starred) >
``allow``. Then the room's review mode may hold what passed: ``hold`` (until a moderator
approves) or ``delay`` (delivered after ``delay_seconds`` unless removed meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from api.chat.normalize import banned_matches, deleet, mask, merge, word_ranges

Action = Literal["allow", "mask", "hold", "block"]
SEVERITY: dict[str, int] = {"allow": 0, "mask": 1, "hold": 2, "block": 3}


@dataclass(frozen=True, slots=True)
class SafetySettings:
    profanity_action: Literal["off", "block", "hold", "mask"] = "off"
    profanity_threshold: float = 0.8
    banned_word_action: Literal["block", "hold", "mask"] = "block"
    review_mode: Literal["off", "hold", "delay"] = "off"
    delay_seconds: int = 10

    def wire(self) -> dict[str, Any]:
        return {
            "profanityAction": self.profanity_action,
            "profanityThreshold": self.profanity_threshold,
            "bannedWordAction": self.banned_word_action,
            "reviewMode": self.review_mode,
            "delaySeconds": self.delay_seconds,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    text: str  # what is delivered (masked when the action is mask)
    reasons: tuple[str, ...] = ()  # "banned_word", "profanity"


def texts_to_score(text: str, settings: SafetySettings) -> list[str]:
    """What the classifier must score for ``text``: nothing when it is off; the message and
    its de-leeted form; and, to mask, each word on its own."""
    if settings.profanity_action == "off":
        return []
    texts = [text, deleet(text)]
    if settings.profanity_action == "mask":
        texts += [deleet(text[a:b]) for a, b in word_ranges(text)]
    return texts


def screen(
    text: str, settings: SafetySettings, banned: tuple[str, ...], scores: list[float]
) -> Verdict:
    """The verdict on ``text``; ``scores`` are the classifier's for `texts_to_score`."""
    action: Action = "allow"
    reasons: list[str] = []
    masked: list[tuple[int, int]] = []
    hits = banned_matches(text, banned) if banned else []
    if hits:
        reasons.append("banned_word")
        action = settings.banned_word_action
        masked += hits
    if scores and max(scores[:2]) >= settings.profanity_threshold:
        reasons.append("profanity")
        p_action: Action = settings.profanity_action  # type: ignore[assignment]  # a CHECK constraint keeps the column to the Literal's values
        if p_action == "mask":
            words = word_ranges(text)
            flagged = [
                r
                for r, s in zip(words, scores[2:], strict=True)
                if s >= settings.profanity_threshold
            ]
            # the whole message reads as profane but no single word does: star every word
            masked += flagged or words
        if SEVERITY[p_action] > SEVERITY[action]:
            action = p_action
    if action == "mask":
        return Verdict("mask", mask(text, merge(masked)), tuple(reasons))
    return Verdict(action, text, tuple(reasons))


def release_at(
    verdict: Verdict, settings: SafetySettings, now: datetime
) -> tuple[bool, datetime | None]:
    """(held, when it goes out by itself): a ``hold`` verdict and the ``hold`` review mode wait
    for a moderator (None); the ``delay`` mode waits ``delay_seconds``."""
    if verdict.action == "hold" or settings.review_mode == "hold":
        return True, None
    if settings.review_mode == "delay":
        return True, now + timedelta(seconds=settings.delay_seconds)
    return False, None
