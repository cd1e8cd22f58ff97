"""The moderation policy (pure): synthesized detections drive it to every action."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from api.moderation.policy import (
    Action,
    Policy,
    decide,
    load_policy,
)
from workers.detectors import Detection, nudenet_labels

POLICY = load_policy()


def det(label: str, score: float) -> Detection:
    return Detection(label, score, (0, 0, 10, 10))


@pytest.mark.parametrize(
    ("rating", "audience", "detections", "action", "actions"),
    [
        # nothing found, or nothing the policy cares about
        ("sfw", "public", [], Action.ALLOW, {Action.ALLOW}),
        ("adult", "public", [det("FACE_FEMALE", 0.95)], Action.ALLOW, {Action.ALLOW}),
        ("sfw", "public", [det("BUTTOCKS_EXPOSED", 0.2)], Action.ALLOW, {Action.ALLOW}),
        # adult streams: explicit content is allowed, but the stream becomes explicit
        ("adult", "members", [det("BUTTOCKS_EXPOSED", 0.5)], Action.MARK_EXPLICIT,
         {Action.MARK_EXPLICIT}),
        ("adult", "public", [det("FEMALE_BREAST_EXPOSED", 0.9)], Action.MARK_EXPLICIT,
         {Action.MARK_EXPLICIT}),
        # ... and a public adult stream showing genitals gets a person's look as well
        ("adult", "public", [det("MALE_GENITALIA_EXPOSED", 0.7)], Action.FLAG_REVIEW,
         {Action.MARK_EXPLICIT, Action.FLAG_REVIEW}),
        ("adult", "members", [det("MALE_GENITALIA_EXPOSED", 0.7)], Action.MARK_EXPLICIT,
         {Action.MARK_EXPLICIT}),
        # sfw streams: suspected explicit content is blurred for previews and reviewed...
        ("sfw", "members", [det("FEMALE_BREAST_EXPOSED", 0.4)], Action.FLAG_REVIEW,
         {Action.MARK_EXPLICIT, Action.FLAG_REVIEW}),
        # ... suggestive content on a public sfw stream is reviewed only...
        ("sfw", "public", [det("BUTTOCKS_COVERED", 0.8)], Action.FLAG_REVIEW,
         {Action.FLAG_REVIEW}),
        ("sfw", "members", [det("BUTTOCKS_COVERED", 0.8)], Action.ALLOW, {Action.ALLOW}),
        # ... and clear explicit content freezes the stream (always flagged too)
        ("sfw", "public", [det("FEMALE_GENITALIA_EXPOSED", 0.61)], Action.FREEZE,
         {Action.FREEZE, Action.MARK_EXPLICIT, Action.FLAG_REVIEW}),
        ("sfw", "members", [det("FACE_MALE", 0.9), det("ANUS_EXPOSED", 0.99)], Action.FREEZE,
         {Action.FREEZE, Action.MARK_EXPLICIT, Action.FLAG_REVIEW}),
    ],
)  # fmt: skip
def test_default_policy_actions(rating, audience, detections, action, actions):
    decision = decide(POLICY, rating, detections, audience)
    assert decision.action is action
    assert decision.actions == frozenset(actions)
    assert decision.policy_version == POLICY.version
    if action is Action.ALLOW:
        assert decision.matches == ()
    else:
        assert decision.matches and all(m.score >= 0.35 for m in decision.matches)


def test_the_best_scoring_detection_is_reported_per_rule():
    d = decide(POLICY, "sfw", [det("BUTTOCKS_EXPOSED", 0.62), det("ANUS_EXPOSED", 0.9)])
    by_rule = {m.rule: (m.label, m.score) for m in d.matches}
    assert by_rule["sfw-explicit-freeze"] == ("ANUS_EXPOSED", 0.9)
    assert by_rule["sfw-explicit-suspected"] == ("ANUS_EXPOSED", 0.9)


def test_score_thresholds_are_inclusive():
    assert decide(POLICY, "sfw", [det("BUTTOCKS_EXPOSED", 0.6)]).action is Action.FREEZE
    assert decide(POLICY, "sfw", [det("BUTTOCKS_EXPOSED", 0.5999)]).action is Action.FLAG_REVIEW


def test_a_policy_is_data_another_one_changes_the_outcome():
    strict = Policy.model_validate(
        {
            "version": "strict",
            "rules": [
                {
                    "name": "any-face",
                    "labels": ["FACE_FEMALE"],
                    "min_score": 0.5,
                    "actions": ["freeze"],
                }
            ],
        }
    )
    d = decide(strict, "adult", [det("FACE_FEMALE", 0.7)], "members")
    assert d.action is Action.FREEZE and d.policy_version == "strict"
    assert decide(POLICY, "adult", [det("FACE_FEMALE", 0.7)], "members").action is Action.ALLOW


def test_default_policy_names_only_labels_the_model_reports(tmp_path):
    assert POLICY.unknown_labels(nudenet_labels()) == set()
    path = tmp_path / "p.json"
    path.write_text(json.dumps(POLICY.model_dump(mode="json")))
    assert load_policy(path) == POLICY


@pytest.mark.parametrize(
    "bad",
    [
        {"version": "x", "rules": [{"name": "a", "labels": ["L"], "min_score": 1.5,
                                    "actions": ["freeze"]}]},
        {"version": "x", "rules": [{"name": "a", "labels": ["L"], "min_score": 0.5,
                                    "actions": ["delete_everything"]}]},
        {"version": "x", "rules": [{"name": "a", "labels": ["L"], "min_score": 0.5,
                                    "ratings": ["pg13"], "actions": ["freeze"]}]},
        {"version": "x", "rules": [{"name": "a", "labels": [], "min_score": 0.5,
                                    "actions": ["freeze"]}]},
        {"version": "x", "rules": [
            {"name": "a", "labels": ["L"], "min_score": 0.5, "actions": ["freeze"]},
            {"name": "a", "labels": ["M"], "min_score": 0.5, "actions": ["allow"]}]},
    ],
)  # fmt: skip
def test_bad_policies_are_refused(bad):
    with pytest.raises(ValidationError):
        Policy.model_validate(bad)


def test_unknown_rating_or_audience_is_an_error():
    with pytest.raises(ValueError):
        decide(POLICY, "pg13", [])
    with pytest.raises(ValueError):
        decide(POLICY, "sfw", [], "everyone")
