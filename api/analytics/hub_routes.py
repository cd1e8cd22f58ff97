"""``/api/v1/admin/hub/...``: the admin intelligence hub (admins and up).

Every answer comes from one of the materialized views the analytics worker refreshes and says
how fresh it is (``freshAt``: the view's last refresh; null before the worker's first pass).
Filters: ``period`` (7d, 30d, 90d, 365d) or ``from``/``to`` (UTC days, at most 400);
``format=csv`` returns the day rows as CSV. An unknown period is 400 ``INVALID_PERIOD``,
``from`` after ``to`` 400 ``INVALID_RANGE``, a longer range 400 ``RANGE_TOO_LARGE``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.analytics import hub
from api.analytics.period import Period, resolve
from api.analytics.views import freshness
from api.auth.rbac import Permission
from api.keys import POOL
from api.routing import Api, Call
from api.schema import Input, Output

api = Api("admin-hub")
ADMIN = Permission.SYSTEM_CONFIG_LIMITED


class HubQuery(Input):
    period: str | None = Field(default=None, max_length=20, description="7d, 30d, 90d or 365d")
    from_: date | None = Field(default=None, alias="from", description="first UTC day")
    to: date | None = Field(default=None, description="last UTC day (included)")
    format: Literal["json", "csv"] = "json"


class CreatorsQuery(Input):
    sort: Literal["earned", "watchHours", "followers", "conversion"] = "earned"
    limit: int = Field(default=50, ge=1, le=500)
    format: Literal["json", "csv"] = "json"


class StreamsQuery(HubQuery):
    limit: int = Field(default=100, ge=1, le=1000)


class Window(Output):
    fresh_at: datetime | None = Field(description="when the view was last refreshed")
    first: date = Field(alias="from")
    last: date = Field(alias="to")


class GrowthDay(Output):
    day: date
    signups: int
    dau: int
    wau: int
    mau: int
    creators_live: int


class Growth(Window):
    days: list[GrowthDay]


class Cohort(Output):
    cohort: date
    size: int
    weeks: list[int] = Field(description="active users in week 0, 1, 2, ... after sign-up")


class Retention(Window):
    cohorts: list[Cohort]


class RevenueFigures(Output):
    purchases: int
    refunds: int
    chargebacks: int
    tips: int
    subscriptions: int
    memberships: int
    shows: int
    platform_fees: int
    payouts: int
    spent: int


class RevenueDay(RevenueFigures):
    day: date


class Revenue(Window):
    days: list[RevenueDay]
    totals: RevenueFigures


class CreatorRow(Output):
    creator_id: uuid.UUID
    handle: str
    earned: int
    watch_hours: float
    followers: int
    viewers: int
    tippers: int
    conversion: float


class Creators(Output):
    fresh_at: datetime | None
    creators: list[CreatorRow]


class StreamRow(Output):
    stream_id: uuid.UUID
    creator_id: uuid.UUID | None
    title: str
    started_at: datetime
    live_seconds: float
    sessions: int
    viewers: int
    peak_viewers: int
    average_viewers: float
    watch_seconds: float
    tips: int
    tip_tokens: int
    tips_per_minute: float
    beacons: int
    latency: float | None
    stalls: int
    stall_seconds: float
    bitrate_switches: int
    startup_ms: float | None


class Streams(Window):
    streams: list[StreamRow]


class MoodDay(Output):
    day: date
    mood: str
    sessions: int
    watch_seconds: float


class Mood(Window):
    days: list[MoodDay]


class AiDay(Output):
    day: date
    feature: str = Field(description="the AI operation (its operation id)")
    requests: int
    refusals: int = Field(description="answered 401, 403, 429 or 451")
    errors: int = Field(description="answered 5xx")
    escalations: int = Field(description="handed to a person by the AI safety layer")
    p50_ms: float
    p95_ms: float


class AiActivity(Window):
    days: list[AiDay]


class ErrorsQuery(Input):
    limit: int = Field(default=50, ge=1, le=500)


class ErrorGroupOut(Output):
    signature: str
    error_type: str
    message: str
    location: str = Field(description="the innermost frame, module:function")
    first_seen: datetime
    last_seen: datetime
    count: int
    last_request_ids: list[str] = Field(description="newest first, at most 5")


class ErrorGroupsOut(Output):
    groups: list[ErrorGroupOut]


class CommunityDay(Output):
    day: date
    reports_opened: int
    reports_resolved: int
    hours_to_resolve: float | None
    bans: int
    flags: int
    appeals: int
    verifications: int


class OpenComplaint(Output):
    report_id: uuid.UUID
    target_type: str
    reason: str
    opened_at: datetime
    age_days: float
    late: bool = Field(description="open for more than 7 days (card networks' deadline)")


class Community(Window):
    days: list[CommunityDay]
    open_complaints: list[OpenComplaint]
    late: int


def _period(q: HubQuery) -> Period:
    return resolve(q.period, q.from_, q.to, datetime.now(UTC).date())


def _csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()


async def _csv_response(name: str, rows: Sequence[dict[str, Any]]) -> web.Response:
    return web.Response(
        text=await asyncio.to_thread(_csv, rows),
        content_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _route(path: str, summary: str, query: type[Input], response: type[Output]) -> Any:
    return api.route(
        "GET",
        f"/api/v1/admin/hub/{path}",
        summary=summary,
        query=query,
        response=response,
        errors=(400,),
        permission=ADMIN,
        also_produces=("text/csv",),
    )


@_route(
    "growth",
    "Sign-ups, active users (day, week, month) and creators live, per day",
    HubQuery,
    Growth,
)
async def get_growth(call: Call[None, HubQuery]) -> Growth | web.Response:
    p = _period(call.query)
    days = await hub.growth(call.app[POOL], p)
    if call.query.format == "csv":
        return await _csv_response("growth", days)
    fresh = await freshness(call.app[POOL], "hub_activity_daily", "hub_growth_daily")
    return Growth.model_validate({"freshAt": fresh, "from": p.first, "to": p.last, "days": days})


@_route(
    "retention",
    "Weekly sign-up cohorts: active users in each week after sign-up",
    HubQuery,
    Retention,
)
async def get_retention(call: Call[None, HubQuery]) -> Retention | web.Response:
    p = _period(call.query)
    cohorts = await hub.retention(call.app[POOL], p)
    if call.query.format == "csv":
        rows = [
            {"cohort": c["cohort"], "size": c["size"], "week": w, "active": n}
            for c in cohorts
            for w, n in enumerate(c["weeks"])
        ]
        return await _csv_response("retention", rows)
    fresh = await freshness(call.app[POOL], "hub_retention_weekly")
    return Retention.model_validate(
        {"freshAt": fresh, "from": p.first, "to": p.last, "cohorts": cohorts}
    )


@_route(
    "revenue",
    "Token flows per day: purchases, tips, subscriptions, memberships, shows, platform fees, "
    "payouts, refunds and chargebacks (reconciled to the ledger)",
    HubQuery,
    Revenue,
)
async def get_revenue(call: Call[None, HubQuery]) -> Revenue | web.Response:
    p = _period(call.query)
    days, totals = await hub.revenue(call.app[POOL], p)
    if call.query.format == "csv":
        return await _csv_response("revenue", days)
    fresh = await freshness(call.app[POOL], "hub_revenue_daily")
    return Revenue.model_validate(
        {"freshAt": fresh, "from": p.first, "to": p.last, "days": days, "totals": totals}
    )


@_route(
    "creators",
    "Creators' leaderboard: earnings, watch hours, followers, conversion",
    CreatorsQuery,
    Creators,
)
async def get_creators(call: Call[None, CreatorsQuery]) -> Creators | web.Response:
    rows = await hub.creators(call.app[POOL], call.query.sort, call.query.limit)
    if call.query.format == "csv":
        return await _csv_response("creators", rows)
    fresh = await freshness(call.app[POOL], "hub_creators")
    return Creators.model_validate({"freshAt": fresh, "creators": rows})


@_route(
    "streams",
    "Broadcasts that started in the period: viewers (peak, average), watch time, "
    "tips per minute, quality of experience",
    StreamsQuery,
    Streams,
)
async def get_streams(call: Call[None, StreamsQuery]) -> Streams | web.Response:
    p = _period(call.query)
    rows = await hub.streams(call.app[POOL], p, call.query.limit)
    if call.query.format == "csv":
        return await _csv_response("streams", rows)
    fresh = await freshness(call.app[POOL], "hub_streams")
    return Streams.model_validate(
        {"freshAt": fresh, "from": p.first, "to": p.last, "streams": rows}
    )


@_route("mood", "Watch time per day by the rooms' mood", HubQuery, Mood)
async def get_mood(call: Call[None, HubQuery]) -> Mood | web.Response:
    p = _period(call.query)
    rows = await hub.mood(call.app[POOL], p)
    if call.query.format == "csv":
        return await _csv_response("mood", rows)
    fresh = await freshness(call.app[POOL], "hub_mood_daily")
    return Mood.model_validate({"freshAt": fresh, "from": p.first, "to": p.last, "days": rows})


@_route(
    "ai",
    "AI features per day: requests, refusals, errors, escalations, latency",
    HubQuery,
    AiActivity,
)
async def get_ai_activity(call: Call[None, HubQuery]) -> AiActivity | web.Response:
    p = _period(call.query)
    rows = await hub.ai(call.app[POOL], p)
    if call.query.format == "csv":
        return await _csv_response("ai", rows)
    fresh = await freshness(call.app[POOL], "hub_ai_daily")
    return AiActivity.model_validate(
        {"freshAt": fresh, "from": p.first, "to": p.last, "days": rows}
    )


@api.route(
    "GET",
    "/api/v1/admin/hub/errors",
    summary="Unhandled errors grouped by signature, most recent first, with counts",
    query=ErrorsQuery,
    response=ErrorGroupsOut,
    permission=ADMIN,
)
async def get_error_groups(call: Call[None, ErrorsQuery]) -> ErrorGroupsOut:
    """Read live from ``error_groups`` (one row per signature: small; the nodes write it every
    few seconds), not from a view."""
    rows = await call.app[POOL].fetch(
        "SELECT signature, error_type, message, location, first_seen, last_seen, count, "
        "last_request_ids FROM error_groups ORDER BY last_seen DESC LIMIT $1",
        call.query.limit,
    )
    return ErrorGroupsOut(groups=[ErrorGroupOut.model_validate(dict(r)) for r in rows])


@_route(
    "community",
    "Community health per day, and every open complaint with its age",
    HubQuery,
    Community,
)
async def get_community(call: Call[None, HubQuery]) -> Community | web.Response:
    p = _period(call.query)
    days, complaints = await hub.community(call.app[POOL], p)
    if call.query.format == "csv":
        return await _csv_response("community", days)
    fresh = await freshness(call.app[POOL], "hub_community_daily")
    return Community.model_validate(
        {
            "freshAt": fresh,
            "from": p.first,
            "to": p.last,
            "days": days,
            "openComplaints": complaints,
            "late": sum(1 for c in complaints if c["late"]),
        }
    )
