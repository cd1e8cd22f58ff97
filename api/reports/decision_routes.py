"""``GET /api/v1/me/decisions``: the trust-and-safety decisions about my account and my content,
newest first — the statement of reasons a member is owed (EU Digital Services Act, art. 17).

Three sources, each read only for the caller:

- the moderation log (`moderation_log`, subject = me): report actions (remove, warn, suspend,
  ban), flag confirmations on my streams and posts, a stream's rating set or its freeze lifted,
  and the decisions on my appeals;
- the chat moderation log (`chat_moderation_log`, target = me): room bans, timeouts, unbans;
- automated moderation (`moderation_decisions` of my streams whose action was ``freeze``).

Each entry says what was decided, on what ground (the report's category, the chat moderator's
stated reason, or the policy rule that matched), whether it was automated, how long it lasts,
and whether and how it can be appealed. It does not say who reported or decided, nor the
moderators' internal notes (the data export follows the same rule: `api.reports.privacy`).
Dismissed complaints are not decisions against the member and are not listed.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from api.keys import POOL
from api.reports.actions import APPEALABLE
from api.routing import Api, Call, Page
from api.schema import Input, Output, utc_timestamp
from teezu.errors import Invalid

api = Api("moderation")

Source = Literal["moderation", "chat", "automated"]


class DecisionQuery(Input):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


class DecisionAboutMe(Output):
    id: str = Field(description="Stable within this list (source and the record's id)")
    at: datetime
    source: Source
    action: str
    automated: bool
    ground: str | None = Field(description="The category or rule the decision rests on")
    target_type: str | None
    target_id: str | None
    until: datetime | None = Field(description="When a time-limited restriction ends")
    report_id: uuid.UUID | None
    appealable: bool = Field(description="An appeal can be filed now (POST /api/v1/appeals)")


# Every source as (key, at, ...) so one keyset orders the union; keys sort within a timestamp.
_DECISIONS = """
SELECT * FROM (
    SELECT 'm:' || lpad(l.id::text, 20, '0') AS id, l.at, 'moderation' AS source, l.action,
           false AS automated, r.reason AS ground, l.target_type, l.target_id,
           (l.meta->>'until')::timestamptz AS until, l.report_id,
           (l.action = ANY($2::text[]) AND l.report_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM appeals a WHERE a.report_id = l.report_id)) AS appealable
    FROM moderation_log l LEFT JOIN reports r ON r.id = l.report_id
    WHERE l.subject_id = $1 AND l.action NOT IN ('appeal', 'dismiss', 'flag.dismissed')
  UNION ALL
    SELECT 'c:' || lpad(c.id::text, 20, '0'), c.at, 'chat', c.action, false,
           nullif(c.meta->>'reason', ''), 'stream', c.stream_id::text,
           CASE WHEN c.action = 'timeout' AND c.meta->>'seconds' IS NOT NULL
                THEN c.at + make_interval(secs => (c.meta->>'seconds')::double precision) END,
           NULL::uuid, false
    FROM chat_moderation_log c
    WHERE c.target_user_id = $1 AND c.action IN ('ban', 'timeout', 'unban')
  UNION ALL
    SELECT 'a:' || d.id::text, d.decided_at, 'automated', d.action, true,
           d.matches->0->>'rule', 'stream', d.stream_id::text, NULL, NULL, false
    FROM moderation_decisions d JOIN streams s ON s.id = d.stream_id
    WHERE s.creator_id = $1 AND d.action = 'freeze'
) x
WHERE $3::timestamptz IS NULL OR (x.at, x.id) < ($3, $4)
ORDER BY x.at DESC, x.id DESC
LIMIT $5
"""


def _encode(at: datetime, key: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{key}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[datetime, str] | tuple[None, None]:
    if cursor is None:
        return None, None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, key = raw.partition("|")
        if not key:
            raise ValueError(key)
        return utc_timestamp(datetime.fromisoformat(at)), key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            "invalid cursor",
            meta={"errors": [{"field": "query.cursor", "message": "not a cursor from this list"}]},
        ) from None


@api.route(
    "GET",
    "/api/v1/me/decisions",
    summary="Moderation decisions about my account and my content (statement of reasons)",
    query=DecisionQuery,
    response=DecisionAboutMe,
    paginated=True,
    auth=True,
)
async def my_decisions(call: Call[None, DecisionQuery]) -> Page[DecisionAboutMe]:
    q = call.query
    at, key = _decode(q.cursor)
    assert call.principal.user_id is not None
    rows = await call.app[POOL].fetch(
        _DECISIONS, call.principal.user_id, sorted(APPEALABLE), at, key, q.limit
    )
    items: list[DecisionAboutMe] = []
    for r in rows:
        row: dict[str, Any] = dict(r)
        items.append(DecisionAboutMe.model_validate(row))
    more = _encode(rows[-1]["at"], rows[-1]["id"]) if len(rows) == q.limit else None
    return Page(items, more)
