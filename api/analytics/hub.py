"""The hub's reads: each answer from one materialized view, with the days asked for.

Pure shaping (rows -> the API's figures) is kept apart from the queries so the revenue mapping
(which ledger flows are purchases, tips, subscriptions, shows, fees, payouts, chargebacks) is
in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import asyncpg

from api.analytics.period import Period

EARNED = ("earnings", "platform", "chargeback_reserve")
SPENDING = ("tip", "tip_reversal", "hold_capture", "subscription", "membership")


def revenue_day(flows: Iterable[Mapping[str, Any] | asyncpg.Record]) -> dict[str, int]:
    """One day's figures from its ledger flows (rows of ``hub_revenue_daily``).

    The sums use the same sides of the same transactions as `api.wallet.check`: bought and
    refunded from the sales account, spent from the payees' accounts."""
    out = dict.fromkeys(
        ("purchases", "refunds", "chargebacks", "tips", "subscriptions", "memberships",
         "shows", "platformFees", "payouts", "spent"),
        0,
    )  # fmt: skip
    for f in flows:
        tx, account, total = f["tx_kind"], f["account_kind"], int(f["total"])
        if account == "sales":
            if tx == "purchase":
                out["purchases"] -= total
            elif tx == "refund":
                out["refunds"] += total
            elif tx == "chargeback":
                out["chargebacks"] += total
        elif account in EARNED and tx in SPENDING:
            out["spent"] += total
            if tx in ("tip", "tip_reversal"):
                out["tips"] += total
            elif tx == "subscription":
                out["subscriptions"] += total
            elif tx == "membership":  # a platform membership: all of it to the platform
                out["memberships"] += total
            else:
                out["shows"] += total
            if account == "platform":
                out["platformFees"] += total
        elif account == "payouts_paid":
            out["payouts"] += total
    return out


async def growth(pool: asyncpg.Pool, p: Period) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT day, signups, dau, wau, mau, creators_live FROM hub_growth_daily "
        "WHERE day BETWEEN $1 AND $2 ORDER BY day",
        p.first,
        p.last,
    )
    return [
        {
            "day": r["day"],
            "signups": r["signups"],
            "dau": r["dau"],
            "wau": r["wau"],
            "mau": r["mau"],
            "creatorsLive": r["creators_live"],
        }
        for r in rows
    ]


async def retention(pool: asyncpg.Pool, p: Period) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT cohort, week_offset, cohort_size, active FROM hub_retention_weekly "
        "WHERE cohort BETWEEN date_trunc('week', $1::date)::date AND $2 "
        "ORDER BY cohort, week_offset",
        p.first,
        p.last,
    )
    cohorts: dict[date, dict[str, Any]] = {}
    for r in rows:
        c = cohorts.setdefault(
            r["cohort"], {"cohort": r["cohort"], "size": r["cohort_size"], "weeks": []}
        )
        weeks: list[int] = c["weeks"]
        while len(weeks) < r["week_offset"]:
            weeks.append(0)
        weeks.append(r["active"])
    return list(cohorts.values())


async def revenue(pool: asyncpg.Pool, p: Period) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rows = await pool.fetch(
        "SELECT day, tx_kind, account_kind, total FROM hub_revenue_daily "
        "WHERE day BETWEEN $1 AND $2 ORDER BY day",
        p.first,
        p.last,
    )
    by_day: dict[date, list[asyncpg.Record]] = {}
    for r in rows:
        by_day.setdefault(r["day"], []).append(r)
    days = [{"day": d, **revenue_day(flows)} for d, flows in by_day.items()]
    totals = revenue_day(rows)
    return days, totals


CREATOR_SORTS = {
    "earned": "earned",
    "watchHours": "watch_hours",
    "followers": "followers",
    "conversion": "conversion",
}


async def creators(pool: asyncpg.Pool, sort: str, limit: int) -> list[dict[str, Any]]:
    column = CREATOR_SORTS[sort]  # a key of ours, never the caller's text
    rows = await pool.fetch(
        "SELECT creator_id, handle, earned, watch_hours, followers, viewers, tippers, conversion "
        f"FROM hub_creators ORDER BY {column} DESC, creator_id LIMIT $1",
        limit,
    )
    return [
        {
            "creatorId": r["creator_id"],
            "handle": r["handle"],
            "earned": r["earned"],
            "watchHours": round(float(r["watch_hours"]), 3),
            "followers": r["followers"],
            "viewers": r["viewers"],
            "tippers": r["tippers"],
            "conversion": round(float(r["conversion"]), 4),
        }
        for r in rows
    ]


async def streams(pool: asyncpg.Pool, p: Period, limit: int) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT * FROM hub_streams WHERE started_at >= $1::date::timestamp AT TIME ZONE 'UTC' "
        "AND started_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC' "
        "ORDER BY watch_seconds DESC, stream_id LIMIT $3",
        p.first,
        p.last,
        limit,
    )
    return [
        {
            "streamId": r["stream_id"],
            "creatorId": r["creator_id"],
            "title": r["title"],
            "startedAt": r["started_at"],
            "liveSeconds": round(float(r["live_seconds"]), 1),
            "sessions": r["sessions"],
            "viewers": r["viewers"],
            "peakViewers": r["peak_viewers"],
            "averageViewers": round(float(r["average_viewers"]), 2),
            "watchSeconds": round(float(r["watch_seconds"]), 1),
            "tips": r["tips"],
            "tipTokens": r["tip_tokens"],
            "tipsPerMinute": round(float(r["tips_per_minute"]), 3),
            "beacons": r["beacons"],
            "latency": None if r["latency"] is None else round(float(r["latency"]), 3),
            "stalls": r["stalls"],
            "stallSeconds": round(float(r["stall_seconds"]), 1),
            "bitrateSwitches": r["bitrate_switches"],
            "startupMs": None if r["startup_ms"] is None else round(float(r["startup_ms"]), 1),
        }
        for r in rows
    ]


async def mood(pool: asyncpg.Pool, p: Period) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT day, mood, sum(sessions)::bigint AS sessions, sum(watch_seconds) AS seconds "
        "FROM hub_mood_daily WHERE day BETWEEN $1 AND $2 GROUP BY day, mood ORDER BY day, mood",
        p.first,
        p.last,
    )
    return [
        {
            "day": r["day"],
            "mood": r["mood"],
            "sessions": r["sessions"],
            "watchSeconds": round(float(r["seconds"]), 1),
        }
        for r in rows
    ]


async def ai(pool: asyncpg.Pool, p: Period) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT day, feature, requests, refusals, errors, escalations, p50_ms, p95_ms "
        "FROM hub_ai_daily WHERE day BETWEEN $1 AND $2 ORDER BY day, feature",
        p.first,
        p.last,
    )
    return [
        {
            "day": r["day"],
            "feature": r["feature"],
            "requests": r["requests"],
            "refusals": r["refusals"],
            "errors": r["errors"],
            "escalations": r["escalations"],
            "p50Ms": round(float(r["p50_ms"]), 1),
            "p95Ms": round(float(r["p95_ms"]), 1),
        }
        for r in rows
    ]


LATE_AFTER_DAYS = 7  # card networks: complaints handled within 7 days


async def community(
    pool: asyncpg.Pool, p: Period
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = await pool.fetch(
        "SELECT * FROM hub_community_daily WHERE day BETWEEN $1 AND $2 ORDER BY day",
        p.first,
        p.last,
    )
    days = [
        {
            "day": r["day"],
            "reportsOpened": r["reports_opened"],
            "reportsResolved": r["reports_resolved"],
            "hoursToResolve": None
            if r["hours_to_resolve"] is None
            else round(float(r["hours_to_resolve"]), 2),
            "bans": r["bans"],
            "flags": r["flags"],
            "appeals": r["appeals"],
            "verifications": r["verifications"],
        }
        for r in rows
    ]
    # Live, not from the view: every open complaint and its age (the oldest first).
    open_rows = await pool.fetch(
        "SELECT id, target_type, reason, created_at, "
        "extract(epoch FROM now() - created_at)::float8 / 86400 AS age_days "
        "FROM reports WHERE status = 'open' ORDER BY created_at LIMIT 500"
    )
    complaints = [
        {
            "reportId": r["id"],
            "targetType": r["target_type"],
            "reason": r["reason"],
            "openedAt": r["created_at"],
            "ageDays": round(r["age_days"], 2),
            "late": r["age_days"] > LATE_AFTER_DAYS,
        }
        for r in open_rows
    ]
    return days, complaints
