"""The request id every response carries (``X-Request-Id`` and the error envelope's
``requestId``), shared by the app (`api.envelope`) and the LL-HLS edge (`hls.edge_http`).

A caller's own id is kept, so a request can be followed across services, only when it is a
short token: 1-64 of ``A-Z a-z 0-9 . _ : -``, starting with a letter or digit (UUIDs, hex
trace ids, W3C trace-parent pieces). Anything else (too long, spaces, quotes, control or
non-ASCII characters) is replaced by a new random id, never cut down and echoed: an echoed
header is a place for a caller to inject text into our logs and responses.
"""

from __future__ import annotations

import re
import secrets

MAX_LENGTH = 64
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def request_id(given: str | None) -> str:
    """``given`` if it is a short token-like id, else a new random one."""
    if given and len(given) <= MAX_LENGTH and _TOKEN.fullmatch(given):
        return given
    return secrets.token_hex(8)
