"""The pure half of matching: the quiz's profile and the compatibility score (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.matching import compat, dna

answers = st.fixed_dictionaries({}, optional={k: st.integers(0, 3) for k in dna.KEYS})
languages = st.lists(st.sampled_from(["nl", "en", "de", "fr"]), max_size=3, unique=True)


def test_the_quiz_has_24_plus_preferences_in_both_languages():
    assert len(dna.QUIZ) >= 24 and len(set(dna.KEYS)) == len(dna.KEYS)
    assert all(p.en and p.nl and p.moods for p in dna.QUIZ)
    # Every mood can be reached from the quiz.
    assert {m for p in dna.QUIZ for m in p.moods} == set(dna.MOODS)
    assert {k for pair in dna.COMPLEMENTS for k in pair} <= set(dna.KEYS)


@given(answers)
def test_the_profile_is_a_unit_vector_over_the_8_moods(a):
    v = dna.profile_vector(a)
    assert len(v) == 8 and all(x >= 0 for x in v)
    assert math.isclose(sum(x * x for x in v), 1, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("answers", "mood"),
    [
        ({"asmr": 3, "massage": 3}, "calm"),
        ({"party": 3, "dance": 3}, "energetic"),
        ({"masks": 3}, "mysterious"),
        ({"cosy_chat": 3, "gaming": 3}, "chill"),
    ],
)
def test_the_dominant_mood_follows_the_answers(answers, mood):
    assert dna.dominant_mood(dna.profile_vector(answers)) == mood


@pytest.mark.parametrize("bad", [{"romance": 4}, {"romance": -1}, {"x": 1}, {"romance": True}])
def test_answers_out_of_range_are_refused(bad):
    with pytest.raises(dna.AnswerError):
        dna.check_answers(bad)


@given(answers, answers, languages, languages)
def test_the_match_score_is_symmetric_and_bounded(a, b, la, lb):
    pa, pb = dna.profile_vector(a), dna.profile_vector(b)
    ab = compat.match_score(a, pa, la, b, pb, lb)
    assert ab == compat.match_score(b, pb, lb, a, pa, la)
    assert 0 <= ab <= 1
    k = compat.kink_compatibility(a, b)
    assert math.isclose(k, compat.kink_compatibility(b, a)) and 0 <= k <= 1


@given(answers)
def test_an_equal_fits_perfectly_outside_the_complements(a):
    """Two leads (or two watchers) do not make a pair; everything else fits its equal."""
    crossed = {k for pair in dna.COMPLEMENTS for k in pair}
    a = {k: v for k, v in a.items() if k not in crossed}
    if not any(a.values()):
        return
    p = dna.profile_vector(a)
    assert compat.kink_compatibility(a, a) == 1
    assert compat.match_score(a, p, ["nl"], a, p, ["nl"]) == 1


def test_complements_fit_across():
    leads, led = {"dominance": 3}, {"submission": 3}
    assert compat.kink_compatibility(leads, led) == 1
    assert compat.kink_compatibility(leads, leads) < 1  # two leads: the pair does not fit
    why = compat.explain(leads, dna.profile_vector(leads), [], led, dna.profile_vector(led), [])
    assert why.complements == ["dominance/submission"]
