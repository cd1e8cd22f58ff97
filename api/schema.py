"""Base classes of the API's pydantic models: camelCase on the wire, snake_case in Python.

Every model a client fills (`Input`: request bodies and query strings; the Socket.IO payloads
derive from `Checked` too) refuses, in one place and for every field, the values no field may
hold, whatever its own constraints say:

- text with a NUL character (PostgreSQL ``text`` cannot store it) or a lone UTF-16 surrogate
  (``"\\ud800"`` is valid JSON, but no UTF-8 encoder accepts it), anywhere in the value, list
  items and mapping keys included;
- a timestamp that cannot be expressed in UTC (``0001-01-01T00:00:00+14:00`` is a valid ISO
  8601 string, but its UTC instant falls before year 1);
- an integer outside PostgreSQL's ``bigint`` (signed 64 bits), and NaN or infinite floats.

Each refusal is an ordinary validation error on the field (422 ``VALIDATION_ERROR`` with
``meta.errors[].field`` over HTTP, ``VALIDATION_ERROR`` in a Socket.IO ack), so no model has to
remember these rules and a new one cannot forget them. `plain_text` is the same text rule for
the few inputs that are not models (multipart form fields).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None. Pure."""
    if "\x00" in value:
        return "text may not contain the NUL character (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text may not contain a lone surrogate (U+D800-U+DFFF)"
    return None


def plain_text(value: str) -> str:
    """``value`` if it can be stored as text; raises ``ValueError`` saying why not."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_raw(value: Any) -> None:
    """The text rule over what the client sent (before any field's own parsing)."""
    if isinstance(value, str):
        plain_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                plain_text(key)
            _check_raw(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_raw(item)


def _check_parsed(value: Any) -> None:
    """The range rules over the parsed value (a field may parse a string into a datetime)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError("integer out of range (signed 64 bits)")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("number must be finite")
    elif isinstance(value, datetime):
        if value.tzinfo is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("timestamp out of range once converted to UTC") from None
    elif isinstance(value, dict):
        for item in value.values():
            _check_parsed(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check_parsed(item)


class Checked(BaseModel):
    """A model whose every field refuses what no field may hold (see the module docstring)."""

    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        _check_raw(value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable_range(cls, value: Any) -> Any:
        _check_parsed(value)
        return value


class Input(Checked):
    """A request body or query string: unknown fields are refused (422), not ignored."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, validate_by_name=True, allow_inf_nan=False
    )


# A password the server checks against the account's (sign-in, appeals, confirmations): every
# such field is this type, so the OpenAPI document marks it ``format: password`` and
# ``x-checked-password: true``, and tests/integration/test_password_checks.py finds and tests
# every operation that carries one. Such a field is only ever checked through
# `api.auth.credentials` (throttling, counters, 2FA, audit).
Password = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        json_schema_extra={"format": "password", "writeOnly": True, "x-checked-password": True},
    ),
]
# A password being set (sign-up, a new password): 8 characters to 72 bytes (bcrypt).
NewPassword = Annotated[
    str,
    Field(
        min_length=8,
        max_length=200,
        description="8 characters to 72 bytes",
        json_schema_extra={"format": "password", "writeOnly": True},
    ),
]


class Output(BaseModel):
    """A response payload."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True)


def utc_timestamp(value: datetime) -> datetime:
    """``value`` if it can be expressed in UTC (naive values are taken as UTC); raises
    ``ValueError`` otherwise. For timestamps that arrive outside a model (cursors)."""
    _check_parsed(value)
    return value
