"""The rules every client-filled model obeys (api/schema.py), whatever its fields declare."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import pytest
from pydantic import Field, ValidationError

from api.chat.errors import InvalidPayload
from api.chat.events import SendPayload, parse
from api.schema import Input, text_problem


class Nested(Input):
    label: str = ""


class Everything(Input):
    text: str = ""
    choice: Literal["a", "b"] = "a"
    tags: list[str] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict)
    items: list[Nested] = Field(default_factory=list)
    when: datetime | None = None
    born: date | None = None
    count: int = 0
    ratio: float = 0.0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "a\x00b"}, "text"),
        ({"text": "\ud800"}, "text"),  # a lone surrogate (valid JSON: "\\ud800")
        ({"choice": "a\x00"}, "choice"),
        ({"tags": ["ok", "b\x00"]}, "tags"),
        ({"extra": {"k\x00": "v"}}, "extra"),
        ({"extra": {"k": "\udfff"}}, "extra"),
        ({"items": [{"label": "x\x00"}]}, "items"),
        ({"when": "0001-01-01T00:00:00+14:00"}, "when"),  # before year 1 in UTC
        ({"when": "9999-12-31T23:59:59-14:00"}, "when"),  # after year 9999 in UTC
        ({"count": 2**63}, "count"),
        ({"count": -(2**63) - 1}, "count"),
        ({"ratio": float("nan")}, "ratio"),
        ({"ratio": float("inf")}, "ratio"),
    ],
)
def test_no_field_holds_what_cannot_be_stored(data, field):
    with pytest.raises(ValidationError) as err:
        Everything.model_validate(data)
    assert [".".join(map(str, e["loc"])) for e in err.value.errors()] == [field]


def test_ordinary_values_pass():
    ok = Everything.model_validate(
        {
            "text": "héllo 👋 \t\n",
            "tags": ["²", "٣"],
            "when": "2026-01-01T00:00:00+14:00",
            "born": "0001-01-01",
            "count": 2**63 - 1,
            "ratio": 1.5,
        }
    )
    assert ok.count == 2**63 - 1 and ok.when is not None


def test_socket_io_payloads_obey_the_same_rule():
    with pytest.raises(InvalidPayload) as err:
        parse(SendPayload, {"streamId": "0c7b5a1e-1111-4222-8333-444455556666", "text": "a\x00"})
    assert err.value.meta["errors"][0]["field"] == "text"


def test_text_problem():
    assert text_problem("plain") is None
    assert "NUL" in (text_problem("\x00") or "")
    assert "surrogate" in (text_problem("a\udc80") or "")


def test_a_keyset_cursor_naming_a_time_that_overflows_in_utc_is_refused():
    import base64

    from api.cursors import decode
    from teezu.errors import Invalid

    raw = f"0001-01-01T00:00:00+14:00|{uuid.uuid4()}".encode()
    forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(Invalid) as err:
        decode(forged)
    assert err.value.meta["errors"][0]["field"] == "query.cursor"
