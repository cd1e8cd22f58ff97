"""Banned-word matching that shrugs off trivial evasion: pure functions, no I/O.

A message is *folded* character by character: case folded, accents stripped (NFKD), leetspeak
mapped to letters (``4→a``, ``3→e``, ``@→a``, ``$→s``...), invisible format characters (zero
width spaces) dropped, every other non-alphanumeric character turned into a separator, and runs
of one repeated letter collapsed to one, across separators too (``baaad``, ``b a a d``), each
remembering how long its run was. What is left is one string of letters and digits, with the
positions where the original words (split at any separator) start and end.

A banned word (folded the same way, so ``B4D`` and ``bad`` are one entry) matches where its
collapsed form occurs in that string starting at a word start and ending at a word end,
optionally followed by a plural ``s``/``es``, and every letter's run is at least as long as in
the word: repeats may be stretched, not shortened (``asss`` matches ``ass``; ``as`` does not).
So ``b a d``, ``b.a.d``, ``B-A-D``, ``baaad``, ``b4d`` and ``bads`` match
``bad``, while ``badge`` and ``abbad`` do not: a word hidden inside a longer one (``class`` for
``ass``) is not a match. Ambiguous characters are tried both ways (``1`` as ``i`` and as
``l``; ``!`` as ``i`` and as punctuation). Spacing being ignored, a banned word also matches
across words that spell it (``bad words`` for ``badword``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s"}
# The ambiguous ones: each table is tried (1337 speak writes "l" and "i" alike, and "!" is a
# letter in "sh!t" but punctuation in "bad!").
_AS_I = str.maketrans({**_LEET, "1": "i", "!": "i", "|": "i"})
_AS_L = str.maketrans({**_LEET, "1": "l", "!": " ", "|": "l"})
TABLES = (_AS_I, _AS_L)
PLURALS = ("s", "es")
MASK = "*"


@dataclass(frozen=True, slots=True)
class Folded:
    """A text folded for matching: ``text`` and, per character of it, the original span."""

    text: str
    starts: frozenset[int]  # indexes in ``text`` where an original word starts
    ends: frozenset[int]  # indexes just past an original word's end
    spans: tuple[
        tuple[int, int], ...
    ]  # per character of ``text``: [first, last + 1) in the original
    runs: tuple[int, ...]  # per character of ``text``: how many repeats were collapsed into it


def _fold_char(c: str, table: dict[int, str]) -> str:
    if unicodedata.category(c) == "Cf":  # zero width space/joiner, bidi marks: invisible
        return "\0"
    out = []
    for d in unicodedata.normalize("NFKD", c.casefold().translate(table)):
        if unicodedata.combining(d):
            continue
        out.append(d.translate(table))
    return "".join(out)


def fold(text: str, table: dict[int, str] = _AS_I) -> Folded:
    """Fold ``text`` for matching (see the module docstring)."""
    out: list[str] = []
    spans: list[list[int]] = []
    runs: list[int] = []
    starts: set[int] = set()
    ends: set[int] = set()
    in_word = False
    for i, c in enumerate(text):
        folded = _fold_char(c, table)
        if folded == "\0":
            continue  # invisible: neither a letter nor a separator
        for d in folded:
            if not d.isalnum():
                if in_word:
                    ends.add(len(out))
                in_word = False
                continue
            if out and out[-1] == d:
                # a repeat: merged into the previous character, even across a separator, so
                # the word that begins here begins at that character
                spans[-1][1] = i + 1
                runs[-1] += 1
                if not in_word:
                    starts.add(len(out) - 1)
            else:
                if not in_word:
                    starts.add(len(out))
                out.append(d)
                spans.append([i, i + 1])
                runs.append(1)
            in_word = True
    if in_word:
        ends.add(len(out))
    return Folded(
        "".join(out),
        frozenset(starts),
        frozenset(ends),
        tuple((a, b) for a, b in spans),
        tuple(runs),
    )


def normalize_word(word: str) -> str:
    """The form a banned word is stored in: folded, repeats kept ('' if it has no letter)."""
    return "".join(d for c in word for d in _fold_char(c, _AS_I) if d.isalnum())


@lru_cache(maxsize=4096)
def _collapsed(word: str) -> tuple[str, tuple[int, ...]]:
    """A normalized word's collapsed form and the length of each of its runs."""
    f = fold(word)
    return f.text, f.runs


def find(folded: Folded, words: Iterable[str]) -> list[tuple[int, int]]:
    """Where normalized ``words`` occur in ``folded``, as [start, end) ranges of ``folded.text``
    (a plural ending included)."""
    found: list[tuple[int, int]] = []
    s = folded.text
    for word in words:
        w, need = _collapsed(word)
        if not w:
            continue
        at = s.find(w)
        while at != -1:
            if at in folded.starts and all(folded.runs[at + j] >= n for j, n in enumerate(need)):
                end = at + len(w)
                if end in folded.ends:
                    found.append((at, end))
                else:
                    for suffix in PLURALS:
                        if s.startswith(suffix, end) and end + len(suffix) in folded.ends:
                            found.append((at, end + len(suffix)))
                            break
            at = s.find(w, at + 1)
    return found


def banned_matches(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """The original-text ranges of ``text`` that a banned word matches, in order, merged."""
    words = list(words)
    ranges: list[tuple[int, int]] = []
    for table in TABLES:
        folded = fold(text, table)
        for a, b in find(folded, words):
            ranges.append((folded.spans[a][0], folded.spans[b - 1][1]))
    return merge(ranges)


def merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def mask(text: str, ranges: Iterable[tuple[int, int]]) -> str:
    """``text`` with every non-space character inside ``ranges`` replaced by ``*``."""
    chars = list(text)
    for a, b in ranges:
        for i in range(a, b):
            if not chars[i].isspace():
                chars[i] = MASK
    return "".join(chars)


def word_ranges(text: str) -> list[tuple[int, int]]:
    """The [start, end) of each whitespace-separated word of ``text`` (for per-word scoring)."""
    ranges = []
    start = None
    for i, c in enumerate(text):
        if c.isspace():
            if start is not None:
                ranges.append((start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        ranges.append((start, len(text)))
    return ranges


def deleet(text: str) -> str:
    """``text`` case folded with leetspeak mapped to letters, spacing kept (what the profanity
    classifier also scores: its vocabulary is plain words)."""
    return text.casefold().translate(_AS_I)
