"""Moderation policy as data: what a detection means for a stream of this rating and audience.

A :class:`Policy` is a list of rules, read from JSON (``default_policy.json`` beside this file,
or ``TEEZU_MODERATION_POLICY``). A rule matches a detection when the label is one of its labels,
the score reaches its ``min_score``, and the stream's rating and audience are among the rule's
(a rule without ``ratings``/``audiences`` applies to all). A decision takes every action of every
matching rule; its headline ``action`` is the most severe of them:

    allow < mark_explicit < flag_review < freeze

* ``mark_explicit``: the stream is explicit from now on: viewers who are not verified adults,
  and public previews (posters), only get safe content;
* ``flag_review``: a person looks at the frame (its snapshot is stored with the flag);
* ``freeze``: every rendition shows the slate at once (the safe word's mechanism), and the
  freeze is flagged for review.

:func:`decide` is pure and cheap (a few microseconds): no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, model_validator

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.json")


class Action(StrEnum):
    ALLOW = "allow"
    MARK_EXPLICIT = "mark_explicit"
    FLAG_REVIEW = "flag_review"
    FREEZE = "freeze"


SEVERITY = {Action.ALLOW: 0, Action.MARK_EXPLICIT: 1, Action.FLAG_REVIEW: 2, Action.FREEZE: 3}

RATINGS = ("sfw", "adult")  # a stream's declared content rating
AUDIENCES = ("public", "members")  # anyone (and previews) / signed-in viewers with access


class Rule(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9_\-]{1,64}$")
    labels: list[str] = Field(min_length=1)
    min_score: float = Field(ge=0.0, le=1.0)
    ratings: list[str] | None = None  # None: every rating
    audiences: list[str] | None = None  # None: every audience
    actions: list[Action] = Field(min_length=1)

    def applies(self, rating: str, audience: str) -> bool:
        return (self.ratings is None or rating in self.ratings) and (
            self.audiences is None or audience in self.audiences
        )


class Policy(BaseModel):
    version: str = Field(min_length=1, max_length=64)
    rules: list[Rule]

    @model_validator(mode="after")
    def _known_values(self) -> Policy:
        for rule in self.rules:
            for r in rule.ratings or ():
                if r not in RATINGS:
                    raise ValueError(f"rule {rule.name}: unknown rating {r!r}")
            for a in rule.audiences or ():
                if a not in AUDIENCES:
                    raise ValueError(f"rule {rule.name}: unknown audience {a!r}")
        if len({r.name for r in self.rules}) != len(self.rules):
            raise ValueError("rule names must be unique")
        return self

    def unknown_labels(self, known: Iterable[str]) -> set[str]:
        """Labels the rules name that a detector never reports (likely a typo in the policy)."""
        return {label for rule in self.rules for label in rule.labels} - set(known)


class Scored(Protocol):
    """A detection as the policy sees it (``workers.detectors.Detection`` is one)."""

    @property
    def label(self) -> str: ...

    @property
    def score(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Match:
    rule: str
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action  # the most severe action taken
    actions: frozenset[Action]  # every action taken ({ALLOW} when nothing matched)
    matches: tuple[Match, ...]  # the best-scoring detection of each matching rule
    policy_version: str

    def takes(self, action: Action) -> bool:
        return action in self.actions


def decide(
    policy: Policy, rating: str, detections: Sequence[Scored], audience: str = "public"
) -> Decision:
    """The actions ``detections`` call for on a stream of ``rating`` and ``audience``."""
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    actions: set[Action] = set()
    matches: list[Match] = []
    for rule in policy.rules:
        if not rule.applies(rating, audience):
            continue
        hits = [d for d in detections if d.label in rule.labels and d.score >= rule.min_score]
        if hits:
            best = max(hits, key=lambda d: d.score)
            matches.append(Match(rule.name, best.label, float(best.score)))
            actions.update(rule.actions)
    if Action.FREEZE in actions:
        actions.add(Action.FLAG_REVIEW)  # a machine freeze always gets a person's look
    actions.discard(Action.ALLOW)
    if not actions:
        actions.add(Action.ALLOW)
    top = max(actions, key=SEVERITY.__getitem__)
    return Decision(top, frozenset(actions), tuple(matches), policy.version)


def load_policy(path: Path | str | None = None) -> Policy:
    """The policy in ``path`` (JSON), or the default one shipped with the code."""
    source = Path(path) if path else DEFAULT_POLICY_PATH
    return Policy.model_validate(json.loads(source.read_text()))
