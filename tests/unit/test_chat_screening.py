"""Chat safety's pure parts: the banned-word normaliser (evasions it must catch, words it must
leave alone), the screening verdicts, review timing, and the scorer's batching."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.chat.filter import FilterScorer, NoFilter, create_filter
from api.chat.normalize import banned_matches, deleet, fold, mask, normalize_word, word_ranges
from api.chat.screening import SafetySettings, Verdict, release_at, screen, texts_to_score

WORDS = tuple(normalize_word(w) for w in ("badword", "ass", "creep", "hello"))


@pytest.mark.parametrize(
    "text",
    [
        "BADWORD",
        "b a d w o r d",
        "b.a.d.w.o.r.d",
        "b-a-d-w-o-r-d!!",
        "baaaaadwoooord",
        "b4dw0rd",
        "B@DW0RD$",
        "bad\u200bword",
        "bädwörd",
        "ｂａｄｗｏｒｄ",  # fullwidth
        "that is an ass",
        "a s s",
        "asssss",
        "cr33p",
        "CREEPS",
        "he11o",
        "h3llo",
        "bad words",  # spacing is ignored: the words spell it
    ],
)
def test_evasions_are_caught(text: str) -> None:
    assert banned_matches(text, WORDS), text


@pytest.mark.parametrize(
    "text",
    ["class", "as you wish", "passage", "nice badge", "creepy", "a creeper", "helo", "bad", ""],
)
def test_innocent_text_is_left_alone(text: str) -> None:
    assert banned_matches(text, WORDS) == [], text


def test_normalize_word() -> None:
    assert normalize_word("B4DW0RD") == normalize_word("badword") == "badword"
    assert normalize_word("Ass") == "ass"  # repeats kept: "as" must not match
    assert normalize_word("  ...  ") == ""
    assert normalize_word("Crème") == "creme"


def test_mask_covers_only_the_match() -> None:
    text = "you b4dw0rd, and you creep!"
    ranges = banned_matches(text, WORDS)
    assert mask(text, ranges) == "you *******, and you *****!"
    spaced = "so b a d w o r d ok"
    assert mask(spaced, banned_matches(spaced, WORDS)) == "so * * * * * * * ok"


def test_fold_keeps_word_boundaries_and_runs() -> None:
    f = fold("Hi  THERE, b.a.d")
    assert f.text == "hithereb" + "ad"
    assert f.starts == frozenset({0, 2, 7, 8, 9})
    assert f.ends == frozenset({2, 7, 8, 9, 10})
    assert fold("baaad").runs == (1, 3, 1)


@given(st.text(max_size=80))
def test_any_text_folds_and_masks_safely(text: str) -> None:
    ranges = banned_matches(text, WORDS)
    masked = mask(text, ranges)
    assert len(masked) == len(text)
    for a, b in ranges:
        assert 0 <= a < b <= len(text)
    assert all(text[a:b] for a, b in word_ranges(text))


@given(st.sampled_from(["badword", "creep"]), st.sampled_from([" ", ".", "-", "_", "\u200b"]))
def test_any_separator_between_letters_is_caught(word: str, sep: str) -> None:
    assert banned_matches(sep.join(word), WORDS)


def test_screen_picks_the_most_severe_action() -> None:
    s = SafetySettings(profanity_action="mask", banned_word_action="hold")
    text = "you creep what the heck"
    # scores: message, de-leeted message, then each word
    scores = [0.9, 0.9, 0.0, 0.0, 0.0, 0.0, 0.95]
    assert texts_to_score(text, s)[2:] == ["you", "creep", "what", "the", "heck"]
    v = screen(text, s, WORDS, scores)
    assert v == Verdict("hold", text, ("banned_word", "profanity"))
    masked = screen(
        text, SafetySettings(profanity_action="mask", banned_word_action="mask"), WORDS, scores
    )
    assert masked.action == "mask" and masked.text == "you ***** what the ****"
    blocked = screen(text, SafetySettings(profanity_action="block"), (), scores)
    assert blocked.action == "block" and blocked.reasons == ("profanity",)
    clean = screen("hi all", SafetySettings(profanity_action="block"), WORDS, [0.1, 0.1])
    assert clean == Verdict("allow", "hi all", ())
    assert texts_to_score("anything", SafetySettings()) == []  # off: nothing to score


def test_mask_whole_message_when_no_single_word_scores() -> None:
    s = SafetySettings(profanity_action="mask", profanity_threshold=0.5)
    v = screen("go away now", s, (), [0.8, 0.8, 0.1, 0.1, 0.1])
    assert v.text == "** **** ***"


def test_review_timing() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    allow = Verdict("allow", "x")
    assert release_at(allow, SafetySettings(), now) == (False, None)
    assert release_at(allow, SafetySettings(review_mode="hold"), now) == (True, None)
    delayed = SafetySettings(review_mode="delay", delay_seconds=7)
    assert release_at(allow, delayed, now) == (True, now + timedelta(seconds=7))
    # a held verdict waits for a moderator even in delay mode
    assert release_at(Verdict("hold", "x"), delayed, now) == (True, None)


class _SlowFilter:
    """Scores a text by whether it says "boo"; records its batches and blocks until released,
    so messages queue behind the first call."""

    name = "slow"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.go = threading.Event()
        self.entered = threading.Event()
        self.threads: set[str] = set()

    def scores(self, texts: Sequence[str]) -> list[float]:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        self.go.wait(5)
        self.batches.append(list(texts))
        return [1.0 if "boo" in t else 0.0 for t in texts]


async def test_scorer_screens_in_batches_off_the_loop() -> None:
    slow = _SlowFilter()
    scorer = FilterScorer(slow)
    scorer.start()
    block = SafetySettings(profanity_action="block")
    try:
        # nothing to check: no hop to the thread at all
        assert await scorer.screen("hi", SafetySettings(), ()) == Verdict("allow", "hi")
        first = asyncio.ensure_future(scorer.screen("boo", block, ()))
        assert await asyncio.to_thread(slow.entered.wait, 5)  # the first call is in flight
        rest = [asyncio.ensure_future(scorer.screen(f"fine {i}", block, WORDS)) for i in range(4)]
        creep = asyncio.ensure_future(scorer.screen("you creep", SafetySettings(), WORDS))
        await asyncio.sleep(0)
        slow.go.set()
        assert (await first).action == "block"
        assert [v.action for v in await asyncio.gather(*rest)] == ["allow"] * 4
        assert await creep == Verdict("block", "you creep", ("banned_word",))
        # the four queued messages' texts (each and its de-leeted form) went in one call;
        # the banned-word-only one needed no classifier text but was screened on the thread
        assert slow.batches == [
            ["boo", "boo"],
            [t for i in range(4) for t in (f"fine {i}", deleet(f"fine {i}"))],
        ]
        assert scorer.calls == 2
        assert all(name.startswith("chat-filter") for name in slow.threads)
    finally:
        await scorer.close()


def test_providers() -> None:
    assert isinstance(create_filter("none"), NoFilter)
    with pytest.raises(ValueError, match="unknown chat filter"):
        create_filter("nope")
    scores = create_filter("profanity-check").scores(["have a lovely day", "fuck off"])
    assert scores[0] < 0.5 < scores[1]
