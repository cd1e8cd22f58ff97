"""Keyset-pagination cursors over ``(created_at, id)``: opaque to clients, checked on the way in.

A cursor is the last row's creation time and id, URL-safe base64 without padding; the list
continues strictly after (or before) that pair, so rows inserted meanwhile neither repeat nor
shift the page.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from api.schema import utc_timestamp
from teezu.errors import Invalid


def encode(created_at: datetime, row_id: uuid.UUID) -> str:
    """The cursor that continues a list after the row ``(created_at, row_id)``."""
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The ``(created_at, id)`` a cursor names; None for the first page. A cursor this API did
    not make is 422 ``VALIDATION_ERROR`` on ``query.cursor``."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, key = raw.partition("|")
        return utc_timestamp(datetime.fromisoformat(at)), uuid.UUID(key)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "invalid cursor",
            meta={"errors": [{"field": "query.cursor", "message": "not a cursor from this list"}]},
        ) from None
