"""Every API operation is called by some screen through the generated client, or is listed
below with the reason no screen calls it.

The calls are read from the web app's source: ``api.GET('/api/v1/...')`` and the like (the
typed client only accepts paths of the OpenAPI document, so a call the scan finds is a real
operation). The list is kept exact both ways: an entry for an operation a screen now calls, or
for one the API no longer has, fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

from api.app import create_app
from api.openapi import document
from api.routing import ROUTES
from teezu.settings import Settings

SRC = Path(__file__).resolve().parents[2] / "web" / "src"
CALL = re.compile(r"\bapi\.(GET|POST|PUT|PATCH|DELETE)\(\s*'(/api/v1/[^']+)'")

BY_URL = "loaded by the browser from a URL the API gives (img/video src or a download link)"
NOT_A_SCREEN = "called by another system, not by a person's screen"
OVER_SOCKET = "the app does the same over its Socket.IO connection; REST is for other clients"

ALLOWED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/payments/webhooks/{provider}"): NOT_A_SCREEN + " (the payment provider)",
    ("GET", "/api/v1/streams/{stream_id}/events"): NOT_A_SCREEN
    + " (server-sent events for integrations; the app follows the room over Socket.IO)",
    ("POST", "/api/v1/streams/{stream_id}/publish-token"): NOT_A_SCREEN
    + " (rotates the long-lived token that OBS-style encoders use; the studio uses grants)",
    ("GET", "/api/v1/users/{handle}/avatar"): BY_URL,
    ("GET", "/api/v1/streams/{stream_id}/poster"): BY_URL,
    ("GET", "/api/v1/posts/{post_id}/preview"): BY_URL,
    ("GET", "/api/v1/posts/{post_id}/media"): BY_URL,
    ("GET", "/api/v1/moderation/flags/{flag_id}/snapshot"): BY_URL,
    ("GET", "/api/v1/verification/records/{record_id}/documents/{kind}"): BY_URL,
    ("GET", "/api/v1/me/exports/{export_id}/download"): BY_URL,
    ("GET", "/api/v1/posts/{post_id}/download"): BY_URL,
    ("GET", "/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"): BY_URL,
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): OVER_SOCKET + " (dm:send)",
    ("POST", "/api/v1/conversations/{conversation_id}/read"): OVER_SOCKET + " (dm:read)",
    ("POST", "/api/v1/admin/users/{user_id}/erase"): NOT_A_SCREEN
    + " (an erasure requested outside the app, done by a super admin with the CLI's tools)",
}
# Operations whose screens are not built yet (each leaves this list when its screen calls it).
PENDING: set[tuple[str, str]] = {
    ("GET", "/api/v1/admin/moods"),  # the admin hub's mood distribution: its card comes next
}


def operations() -> set[tuple[str, str]]:
    app = create_app(Settings(), dsn="postgresql://unused/unused")
    doc = document(app[ROUTES])
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}


def called() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in SRC.rglob("*.ts*"):
        if ".test." in path.name or path.name.endswith(".d.ts"):
            continue
        found |= {(m, p) for m, p in CALL.findall(path.read_text(encoding="utf-8"))}
    return found


def test_every_operation_is_called_by_a_screen_or_listed_with_a_reason() -> None:
    ops, calls = operations(), called()
    assert calls <= ops, f"calls to paths the API does not have: {sorted(calls - ops)}"
    listed = set(ALLOWED) | PENDING
    assert not (listed - ops), f"listed, but the API has no such operation: {sorted(listed - ops)}"
    assert not (listed & calls), (
        f"called by a screen now, drop from the list: {sorted(listed & calls)}"
    )
    missing = ops - calls - listed
    assert not missing, f"no screen calls these and no reason is given: {sorted(missing)}"
    print(
        f"\n{len(calls)} of {len(ops)} operations called by screens; {len(ALLOWED)} not "
        f"meant for a screen; {len(PENDING)} whose screens are not built yet"
    )
