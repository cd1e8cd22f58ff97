"""The AI companion personas: the five of the product documents, their lines and boundaries.

A persona's config (name, style, moods, boundary rules, greeting, lines) ships in
``api/ai/data/personas.json`` and is written to MongoDB (``ai_configs``) at start; replies read
it from there. One exchange (`answer`):

1. asked whether it is a person, the persona says it is an AI;
2. the persona's boundary rules are checked *before* anything is generated
   (`api.ai.boundaries`: patterns, then meaning); a prompt that crosses one gets the rule's
   refusal, in the prompt's language;
3. otherwise the persona's lines are retrieved for the prompt, those of the member's recent
   mood (the mood pipeline) and of the prompt's language a little ahead; the provider writes the
   reply; the guard (chat filter, no human claim) passes it; the member's remembered name
   personalises it.

Memory (``ai_memories``): facts the member told (name, likes), the newest 20, and a summary.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.ai import boundaries
from api.ai.guard import OutputGuard, asks_if_human
from api.ai.llm import LlmProvider, Passage, ReplyRequest, Turn
from api.ai.retrieval import Retriever

DATA = Path(__file__).parent / "data" / "personas.json"
MOOD_BOOST = 0.05  # added to the score of a line in the member's recent mood
LANGUAGE_BOOST = 0.1  # and of a line in the prompt's language
TRIES = 3

_DUTCH = frozenset(
    "ik je jij jouw het een niet wat mijn ben bent zijn van de en is dat hoe waar wil heb "
    "hebt met voor naar ook maar nog wel zo graag vind leuk lekker doe doen mij mee jullie "
    "alsjeblieft vandaag avond".split()
)
_ENGLISH = frozenset(
    "i you your the a an not what my am are is of and that how where want have has with for "
    "to also but still so like do me please today tonight evening it this".split()
)
_WORD = re.compile(r"[a-zà-ÿ']+")


def language(text: str) -> str:
    """``nl`` or ``en``: which language's common words the text has more of (ties: en)."""
    words = _WORD.findall(text.lower())
    nl = sum(w in _DUTCH for w in words)
    en = sum(w in _ENGLISH for w in words)
    return "nl" if nl > en else "en"


def load_personas(path: Path = DATA) -> list[dict[str, Any]]:
    """The shipped persona configs (blocking: call at start-up, off the loop)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    personas: list[dict[str, Any]] = data["personas"]
    return personas


def lines(persona: dict[str, Any]) -> list[tuple[Passage, str, str]]:
    """(passage, mood, language) of each of the persona's lines; ids ``persona:<key>:<n>``."""
    return [
        (
            Passage(f"persona:{persona['key']}:{n}", line["text"]),
            line["mood"],
            language(line["text"]),
        )
        for n, line in enumerate(persona["lines"])
    ]


_NAME = r"\b(?:my name is|call me|i'?m called|ik heet|noem me|mijn naam is)\s+([A-Za-zÀ-ÿ'-]{2,30})"
_LIKES = (
    r"\b(?:i (?:really )?(?:like|love|enjoy)|ik hou (?:echt )?van|ik geniet van)\s+([^.!?,;]{3,60})"
)
_FACTS = [(re.compile(_NAME, re.I), "name"), (re.compile(_LIKES, re.I), "likes")]


def facts_in(prompt: str) -> list[str]:
    """Facts a member tells about themselves (``name: Sam``, ``likes: jazz``), in order."""
    found = []
    for pattern, kind in _FACTS:
        for m in pattern.finditer(prompt):
            value = m.group(1).strip()
            found.append(f"{kind}: {value.title() if kind == 'name' else value}")
    return found


def remembered_name(memory: dict[str, Any] | None) -> str | None:
    for fact in reversed((memory or {}).get("facts") or []):
        if isinstance(fact, str) and fact.startswith("name: "):
            return fact[len("name: ") :]
    return None


def summary(memory: dict[str, Any] | None, prompt: str) -> str:
    turns = int((memory or {}).get("turns") or 0) + 1
    return f"{turns} exchanges; last about: {prompt[:80]}"


@dataclass(frozen=True)
class CompanionReply:
    text: str
    sources: list[Passage]
    refused: str | None  # the boundary rule the prompt crossed
    provider: str


async def crossed(
    retriever: Retriever, rules: boundaries.Boundaries, keys: list[str], prompt: str
) -> str | None:
    """The boundary rule of ``keys`` that ``prompt`` crosses, or None."""
    keys = [k for k in keys if k in rules.rules]
    by_pattern = boundaries.by_pattern(rules, keys, prompt)
    if by_pattern is not None:
        return by_pattern
    texts, owners = rules.examples(keys)
    sims = await retriever.similarities(prompt, [*texts, *rules.allowed])
    return boundaries.by_meaning(rules, owners, sims[: len(texts)], sims[len(texts) :])


async def answer(
    *,
    retriever: Retriever,
    provider: LlmProvider,
    guard: OutputGuard,
    rules: boundaries.Boundaries,
    persona: dict[str, Any],
    prompt: str,
    mood: str | None,
    memory: dict[str, Any] | None,
    history: list[Turn],
) -> CompanionReply:
    name = persona["name"]
    lang = language(prompt)
    if asks_if_human(prompt):
        text = (
            f"Ik ben {name}, een AI-gezelschap: geen mens, en dat zeg ik altijd eerlijk."
            if lang == "nl"
            else f"I'm {name}, an AI companion: not a person, and I'll always say so."
        )
        return CompanionReply(text, [], None, "builtin-honesty")
    rule = await crossed(retriever, rules, list(persona["boundaries"]), prompt)
    if rule is not None:
        return CompanionReply(boundaries.refusal(rules, rule, lang), [], rule, "builtin-boundary")
    own = lines(persona)
    boost = {
        p.id: (MOOD_BOOST if line_mood == mood else 0.0)
        + (LANGUAGE_BOOST if line_lang == lang else 0.0)
        for p, line_mood, line_lang in own
    }
    found = await retriever.retrieve(prompt, [p for p, _, _ in own], k=3, boost=boost)
    remembered = "; ".join(str(f) for f in (memory or {}).get("facts") or [])
    system = (
        f"You are {name}, an AI companion on an adult platform ({persona['style']}). You are an "
        "AI and say so when asked; never claim to be human. Keep to consenting adults."
        + (f" What you remember about this member: {remembered}." if remembered else "")
    )
    member = remembered_name(memory)
    for _ in range(TRIES):
        if not found:
            break
        reply = await provider.reply(
            ReplyRequest(system=system, prompt=prompt, passages=found, history=history)
        )
        text = f"{member}, {reply.text}" if member and reply.text else reply.text
        if await guard.allows(text, ()):
            used = [p for p in found if p.id in set(reply.sources)]
            return CompanionReply(text, used, None, reply.provider)
        dropped = set(reply.sources) or {p.id for p in found}
        found = [p for p in found if p.id not in dropped]
    greeting = persona["greeting"].get(lang) or persona["greeting"]["en"]
    return CompanionReply(greeting, [], None, "builtin-fallback")
