"""Detectors in-process: NudeNet's real model (shipped in its wheel) and the loading rules."""

from __future__ import annotations

import numpy as np
import pytest

from api.moderation.policy import Action, decide, load_policy
from tests.pictures import EXPLICIT_LABEL, explicit_picture
from workers.detectors import (
    DETECTORS,
    Detection,
    NudeNetDetector,
    load_detector,
    nudenet_labels,
    nudenet_model_path,
    register,
)


@pytest.fixture(scope="module")
def nudenet() -> NudeNetDetector:
    return NudeNetDetector()


def test_the_model_comes_from_the_installed_wheel():
    path = nudenet_model_path()
    assert path.name == "320n.onnx" and path.parent.name == "nudenet"
    assert path.stat().st_size > 1_000_000
    labels = nudenet_labels()
    assert len(labels) == 18 and "FEMALE_GENITALIA_EXPOSED" in labels


def test_nudenet_runs_on_a_frame_and_returns_well_formed_detections(nudenet):
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
    for picture in (noise, explicit_picture(320, 180), explicit_picture(1280, 720)):
        found = nudenet.detect(picture)
        h, w = picture.shape[:2]
        for d in found:
            assert isinstance(d, Detection) and d.label in nudenet.labels
            assert 0.2 <= d.score <= 1.0
            x, y, bw, bh = d.box
            assert 0 <= x <= w and 0 <= y <= h and x + bw <= w + 1 and y + bh <= h + 1


def test_nudenet_fires_on_the_synthesized_picture_and_drives_the_policy(nudenet):
    found = nudenet.detect(explicit_picture(320, 180))
    best = max(found, key=lambda d: d.score)
    assert best.label == EXPLICIT_LABEL and best.score > 0.6, found
    assert nudenet.detect(np.full((180, 320, 3), 128, np.uint8)) == []
    policy = load_policy()
    assert decide(policy, "adult", found, "members").action is Action.MARK_EXPLICIT
    assert decide(policy, "sfw", found, "public").action is Action.FREEZE


def test_detectors_load_by_name_or_by_path():
    assert "nudenet" in DETECTORS
    loaded = load_detector("tests.detectors:BrightnessDetector")
    (d,) = loaded.detect(np.full((10, 10, 3), 255, np.uint8))
    assert d.label == "BRIGHT" and d.score == pytest.approx(1.0)
    register("unit-bright", lambda: loaded)
    try:
        assert load_detector("unit-bright") is loaded
    finally:
        DETECTORS.pop("unit-bright")
    with pytest.raises(ValueError):
        load_detector("no-such-detector")
    with pytest.raises(ModuleNotFoundError):
        load_detector("no_such_module:Detector")
