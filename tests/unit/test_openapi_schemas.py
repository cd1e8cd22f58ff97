"""Component schemas are one per name, nested ones included: two models of one name in
different packages must fail the document, not silently share a schema (the generated web
client then typed one screen's data as the other's)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.openapi import _Schemas


def _minute_a() -> type[BaseModel]:
    class Minute(BaseModel):
        votes: int

    class StripA(BaseModel):
        minutes: list[Minute]

    return StripA


def _minute_b() -> type[BaseModel]:
    class Minute(BaseModel):
        messages: int
        dominant: str | None

    class StripB(BaseModel):
        minutes: list[Minute]

    return StripB


def test_a_nested_model_of_the_same_name_and_another_shape_is_refused():
    schemas = _Schemas()
    schemas.ref(_minute_a())
    with pytest.raises(ValueError, match="both named Minute"):
        schemas.ref(_minute_b())


def test_the_same_nested_model_twice_is_one_component():
    schemas = _Schemas()
    strip = _minute_a()
    schemas.ref(strip)
    schemas.ref(strip)
    assert set(schemas.components) == {"ErrorEnvelope", "Minute", "StripA"}
