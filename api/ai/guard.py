"""What every AI reply passes before anyone sees it: the creator's banned words and the chat
filter (`api.chat.filter`, on its thread), and never a claim to be human.

The human-claim patterns are pure functions (English and Dutch); a reply that claims to be a
person is refused like a profane one, and a question whether the AI is a person gets an honest
answer instead of a retrieved one.
"""

from __future__ import annotations

import asyncio
import re

from api.chat.filter import FilterScorer
from api.chat.normalize import banned_matches
from api.chat.screening import SafetySettings

_HUMAN_CLAIM = re.compile(
    r"\b(i\s*(am|'m|’m)\s+(a\s+)?(real|human|a\s+human|a\s+real\s+person|a\s+person|no[t]?\s+(a\s+)?"
    r"(bot|robot|ai|machine|program))\b|\breal\s+(person|human)\b|\bnot\s+an?\s+(ai|bot)\b|"
    r"\bik\s+ben\s+(echt|een\s+mens|een\s+echt\s+persoon|geen\s+(bot|robot|ai|computer))\b|"
    r"\becht(e)?\s+(mens|persoon)\b)",
    re.IGNORECASE,
)
_ASKS_HUMAN = re.compile(
    r"\b(are\s+you\s+(really\s+)?(real|human|a\s+(real\s+)?(person|human|bot|robot)|an?\s+ai|"
    r"a\s+machine|actually\s+\w+)|is\s+this\s+(really\s+)?(you|a\s+bot|an?\s+ai|a\s+real)|"
    r"am\s+i\s+(talking|chatting)\s+(to|with)\s+(a\s+)?(bot|robot|ai|machine|real|human|you)|"
    r"ben\s+(je|jij)\s+(wel\s+)?(echt|een\s+(echt\s+)?(mens|persoon|bot|robot)|ai|een\s+ai|"
    r"het\s+echt)|praat\s+ik\s+met\s+(een\s+)?(bot|robot|ai|mens|jou))",
    re.IGNORECASE,
)

# AI output is held to the strictest chat settings, whatever a room's own are.
STRICT = SafetySettings(
    profanity_action="block", profanity_threshold=0.8, banned_word_action="block"
)


def claims_human(text: str) -> bool:
    """Does ``text`` say that its writer is a person (or not an AI)?"""
    return _HUMAN_CLAIM.search(text) is not None


def asks_if_human(prompt: str) -> bool:
    """Does ``prompt`` ask whether it is talking to a person or an AI?"""
    return _ASKS_HUMAN.search(prompt) is not None


def _has_banned(texts: list[str], banned: tuple[str, ...]) -> list[bool]:
    return [bool(banned_matches(t, banned)) for t in texts]


class OutputGuard:
    """Checks AI replies with the chat filter's scorer (its thread and batching)."""

    def __init__(self, scorer: FilterScorer) -> None:
        self.scorer = scorer

    async def without_banned(self, texts: list[str], banned: tuple[str, ...]) -> list[bool]:
        """Per text: True when no banned word matches (matched on a thread)."""
        if not banned or not texts:
            return [True] * len(texts)
        hits = await asyncio.to_thread(_has_banned, texts, banned)
        return [not h for h in hits]

    async def allows(self, text: str, banned: tuple[str, ...]) -> bool:
        """May ``text`` be shown: no banned word, not profane, no claim to be human."""
        if not text.strip() or claims_human(text):
            return False
        verdict = await self.scorer.screen(text, STRICT, banned)
        return verdict.action == "allow"
