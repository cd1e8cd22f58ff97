"""Reading the served OpenAPI document in tests: operations, their fields, and minimal valid
values for a schema (so a test can reach one field with everything else valid)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PREFIX = "#/components/schemas/"


@dataclass
class Operation:
    method: str
    path: str
    op: dict[str, Any]
    doc: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return str(self.op["operationId"])

    @property
    def signed_in(self) -> bool:
        return bool(self.op.get("security"))

    @property
    def permission(self) -> str | None:
        return self.op.get("x-permission")

    def body_schema(self) -> dict[str, Any] | None:
        content = self.op.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return resolve(self.doc, media["schema"]) if media else None

    def raw_body_types(self) -> list[str]:
        content = self.op.get("requestBody", {}).get("content", {})
        return [t for t in content if t != "application/json"]

    def params(self, where: str) -> list[dict[str, Any]]:
        return [p for p in self.op.get("parameters", []) if p["in"] == where]


def operations(doc: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, op, doc)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    ]


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a top-level ``$ref`` followed (repeatedly)."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].removeprefix(PREFIX)]
    return schema


def alternatives(doc: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a schema (``anyOf``/``oneOf``), each resolved."""
    schema = resolve(doc, schema)
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return [schema]
    return [resolve(doc, o) for o in options if resolve(doc, o).get("type") != "null"]


def properties(
    doc: dict[str, Any], schema: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """``(name, schema, required)`` of an object schema's properties."""
    schema = resolve(doc, schema)
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        yield name, prop, name in required


def kind(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """What a field holds: string, date, date-time, integer, number, boolean, array, object,
    enum (a fixed set of strings) or other."""
    options = alternatives(doc, schema)
    first = options[0] if options else {}
    if "enum" in first or "const" in first:
        return "enum"
    t = first.get("type")
    if t == "string":
        fmt = first.get("format")
        if fmt in ("date", "date-time"):
            return str(fmt)
        return "string"
    return str(t) if t in ("integer", "number", "boolean", "array", "object") else "other"


def example(doc: dict[str, Any], schema: dict[str, Any], *, name: str = "") -> Any:
    """A minimal value the schema accepts (valid enough to reach the handler)."""
    options = alternatives(doc, schema)
    s = options[0] if options else {}
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return s["enum"][0]
    if "default" in s and s["default"] is not None:
        return s["default"]
    t = s.get("type")
    if t == "string":
        fmt = s.get("format")
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "email":
            return f"x{uuid.uuid4().hex[:8]}@example.org"
        if fmt == "date":
            return "1990-01-01"
        if fmt == "date-time":
            return "2026-01-01T00:00:00+00:00"
        if "pattern" in s:
            return pattern_example(s["pattern"], s.get("minLength", 1))
        return "x" * max(1, s.get("minLength", 1))
    if t == "integer":
        low = s.get("minimum", s.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in s else 1)
        return max(int(low), 1) if s.get("maximum", 10**9) >= 1 else int(low)
    if t == "number":
        return float(s.get("minimum", 1))
    if t == "boolean":
        return True
    if t == "array":
        return []
    if t == "object" or "properties" in s:
        return {n: example(doc, p, name=n) for n, p, required in properties(doc, s) if required}
    return None


def pattern_example(pattern: str, min_length: int) -> str:
    """A string matching the simple patterns the API uses (character classes with lengths)."""
    import re

    for candidate in ("abc123", "abc", "ABC", "abc_12", "a" * max(3, min_length), "1" * 6):
        if re.search(pattern, candidate):
            return candidate
    raise ValueError(f"no example for pattern {pattern!r}")
