"""The export zip: pure, CPU-bound (JSON encoding and deflate): call it in a thread."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import zipfile
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return None  # binary goes in files of its own, never inline
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(data: Any) -> bytes:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2).encode()


def build_zip(
    documents: dict[str, Any], files: dict[str, bytes], manifest: dict[str, Any]
) -> bytes:
    """``documents`` become JSON files, ``files`` are stored as they are, plus ``manifest.json``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", to_json(manifest))
        for name in sorted(documents):
            z.writestr(name, to_json(documents[name]))
        for name in sorted(files):
            z.writestr(name, files[name], compress_type=zipfile.ZIP_STORED)  # images: compressed
    return out.getvalue()
