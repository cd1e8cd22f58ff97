"""``/api/v1/affiliates``: my referral code and link, following a link, and my stats.

* ``POST /affiliates/code`` gives the caller their code (made on first call) and link.
* ``POST /affiliates/clicks`` records a followed link and keeps the first click in the
  visitor's ``teezu_ref`` cookie (first touch, 30 days): a sign-up from that browser is
  attributed to it (`api.affiliates.attribution`).
* ``GET /affiliates/stats`` answers clicks, sign-ups, conversions and earnings per day, week
  or month; the earnings are the ledger's entries (`api.affiliates.store`), and the tokens are
  cashed out through the payout flow like a creator's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from api.affiliates import store
from api.affiliates.attribution import REF_COOKIE, WINDOW
from api.affiliates.errors import ReferralCodeNotFound
from api.analytics.period import resolve
from api.auth.rbac import Permission
from api.keys import POOL, SETTINGS
from api.routing import Api, Call, RateLimit
from api.schema import Input, Output

api = Api("affiliates")

CODE_PATTERN = r"^[A-Za-z0-9]{6,16}$"


class CodeOut(Output):
    code: str
    link: str = Field(description="The referral link to share (the web app's /r/{code})")


class ClickIn(Input):
    code: str = Field(pattern=CODE_PATTERN, description="The code in the followed link")


class ClickOut(Output):
    code: str
    first_touch: bool = Field(description="False: an earlier link of the window still counts")


class StatsQuery(Input):
    period: str | None = Field(default=None, max_length=10, description="7d, 30d, 90d or 365d")
    from_: date | None = Field(default=None, alias="from", description="First UTC day")
    to: date | None = Field(default=None, description="Last UTC day (included)")
    by: Literal["day", "week", "month"] = "day"


class PeriodOut(Output):
    start: datetime
    clicks: int
    signups: int
    conversions: int = Field(description="Referred accounts' first token purchases")
    earnings: int = Field(description="Tokens of referral share credited, less reversals")


class StatsOut(Output):
    code: str | None
    since: datetime
    until: datetime
    periods: list[PeriodOut]
    clicks: int
    signups: int
    conversions: int
    earnings: int


def _link(call: Call[Any, Any], code: str) -> str:
    base = call.app[SETTINGS].public_url.rstrip("/")
    return f"{base}/r/{code}"


@api.route(
    "POST",
    "/api/v1/affiliates/code",
    summary="My referral code and link (made on the first call)",
    response=CodeOut,
    permission=Permission.WALLET,
)
async def my_code(call: Call[None, None]) -> CodeOut:
    me = call.principal.user_id
    assert me is not None
    code, _ = await store.ensure_code(call.app[POOL], me)
    return CodeOut(code=code, link=_link(call, code))


@api.route(
    "POST",
    "/api/v1/affiliates/clicks",
    summary="Record a followed referral link (first touch kept in a cookie for 30 days)",
    body=ClickIn,
    response=ClickOut,
    errors=(404,),
    rate_limit=RateLimit(30, 60),
)
async def click(call: Call[ClickIn, None]) -> ClickOut:
    db = call.app[POOL]
    touch = await store.touch_of_code(db, call.body.code)
    if touch is None:
        raise ReferralCodeNotFound("no such referral code", meta={"code": call.body.code})
    earlier = call.request.cookies.get(REF_COOKIE)
    if earlier:
        try:
            kept = await store.touch_of_click(db, uuid.UUID(earlier))
        except ValueError:
            kept = None
        if kept is not None and kept.clicked_at and datetime.now(UTC) - kept.clicked_at < WINDOW:
            return ClickOut(code=call.body.code.upper(), first_touch=False)
    click_id, _ = await store.record_click(db, touch.owner_id)
    settings = call.app[SETTINGS]

    def set_cookie(response: web.StreamResponse) -> None:
        response.set_cookie(
            REF_COOKIE,
            str(click_id),
            max_age=int(WINDOW.total_seconds()),
            path="/",
            httponly=True,
            secure=settings.secure_cookies,
            samesite="Lax",
        )

    call.after.append(set_cookie)
    return ClickOut(code=call.body.code.upper(), first_touch=True)


@api.route(
    "GET",
    "/api/v1/affiliates/stats",
    summary="My affiliate stats per day, week or month: clicks, sign-ups, conversions, earnings",
    query=StatsQuery,
    response=StatsOut,
    permission=Permission.WALLET,
    errors=(400,),
)
async def stats(call: Call[None, StatsQuery]) -> StatsOut:
    me = call.principal.user_id
    assert me is not None
    q = call.query
    today = datetime.now(UTC).date()
    span = resolve(
        q.period,
        q.from_,
        q.to,
        today,
    )
    since = datetime.combine(span.first, time(), UTC)
    until = datetime.combine(span.last, time(), UTC) + timedelta(days=1)
    db = call.app[POOL]
    rows = await store.stats(db, me, period=q.by, since=since, until=until)
    periods = [PeriodOut(**r.__dict__) for r in rows]
    return StatsOut(
        code=await store.code_of(db, me),
        since=since,
        until=until,
        periods=periods,
        clicks=sum(p.clicks for p in periods),
        signups=sum(p.signups for p in periods),
        conversions=sum(p.conversions for p in periods),
        earnings=sum(p.earnings for p in periods),
    )
