"""Administrators and the platform's money: the fee schedule and a stream's billing kill switch.

**Fee schedules** are versioned and never change once written (migration 0030's trigger): a
change is a new version with the time it takes effect. Every split records the version it
used, so the ledger is never rewritten; a new schedule applies to money moved from its
``effectiveFrom`` on. That time is at least `MIN_LEAD` ahead, so every node's schedule cache
(`api.wallet.accounts.AccountBook.current_schedule`, which expires at the next change) switches
at the same instant. Reading is for administrators (``system.config_limited``); changing the
platform's fee is ROOT configuration (``system.config_root``: super admins), like the matrix's
"System Config" column says.

**The kill switch** (`api.wallet.killswitch.stop_billing`): stop a stream's per-minute billing
and settle its pending holds without freezing its video (a freeze also does this). The rank
rule applies on the stream's creator; every use is in the audit log with what it settled.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from api.auth import audit
from api.auth.ranks import check_may_act_on
from api.auth.rbac import Permission
from api.keys import POOL
from api.routing import Api, Call, Page
from api.schema import Input, Output
from api.streams.errors import STREAM_ID
from api.streams.ownership import existing_stream
from api.wallet.fees import BPS
from api.wallet.service import LEDGER
from teezu.errors import Conflict, Invalid

api = Api("admin")

MIN_LEAD = timedelta(minutes=1)


class FeeScheduleExists(Conflict):
    code = "FEE_SCHEDULE_EXISTS"


class FeeScheduleTooSoon(Invalid):
    code = "FEE_SCHEDULE_TOO_SOON"


class FeeScheduleOut(Output):
    version: str
    creator_bps: int
    platform_bps: int
    referral_bps: int
    platform_rounding: Literal["floor", "ceil"]
    effective_from: datetime
    state: Literal["past", "current", "scheduled"]


class FeeScheduleIn(Input):
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
    platform_bps: int = Field(ge=0, le=BPS, description="The platform's share, in basis points")
    referral_bps: int = Field(
        ge=0, le=BPS, description="The referrer's part of the platform's share (basis points)"
    )
    platform_rounding: Literal["floor", "ceil"] = "ceil"
    effective_from: datetime | None = Field(
        default=None, description="When it takes effect (at least a minute ahead; default: then)"
    )

    @model_validator(mode="after")
    def _referral_within_platform(self) -> FeeScheduleIn:
        if self.referral_bps > self.platform_bps:
            raise ValueError("referralBps is part of platformBps: it cannot be larger")
        return self


_SCHEDULES = """
WITH current AS (
    SELECT version FROM ledger_fee_schedules WHERE effective_from <= now()
    ORDER BY effective_from DESC LIMIT 1
)
SELECT s.version, s.creator_bps, s.platform_bps, s.referral_bps, s.platform_rounding,
       s.effective_from,
       CASE WHEN s.version = (SELECT version FROM current) THEN 'current'
            WHEN s.effective_from > now() THEN 'scheduled' ELSE 'past' END AS state
FROM ledger_fee_schedules s
ORDER BY s.effective_from DESC
"""


@api.route(
    "GET",
    "/api/v1/admin/fee-schedules",
    summary="Every fee schedule version, newest first (one page: versions are few)",
    response=FeeScheduleOut,
    paginated=True,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
)
async def fee_schedules(call: Call[None, None]) -> Page[FeeScheduleOut]:
    rows = await call.app[POOL].fetch(_SCHEDULES)
    return Page([FeeScheduleOut.model_validate(dict(r)) for r in rows])


@api.route(
    "POST",
    "/api/v1/admin/fee-schedules",
    summary="Schedule a new fee schedule version",
    status=201,
    body=FeeScheduleIn,
    response=FeeScheduleOut,
    errors=(409,),
    permission=Permission.SYSTEM_CONFIG_ROOT,
)
async def create_fee_schedule(call: Call[FeeScheduleIn, None]) -> FeeScheduleOut:
    """422 ``FEE_SCHEDULE_TOO_SOON`` for an ``effectiveFrom`` less than a minute ahead (the
    database's clock decides); 409 ``FEE_SCHEDULE_EXISTS`` for a version or a start time
    already used. Money moved before ``effectiveFrom`` keeps the schedule it used."""
    b = call.body
    lead = MIN_LEAD.total_seconds()
    db = call.app[POOL]
    async with db.acquire() as conn, conn.transaction():
        # One writer at a time, so the uniqueness checks below cannot race.
        await conn.execute("LOCK TABLE ledger_fee_schedules IN SHARE ROW EXCLUSIVE MODE")
        starts = await conn.fetchval(
            "SELECT coalesce($1::timestamptz, now() + make_interval(secs => $2)) "
            "WHERE coalesce($1::timestamptz, now() + make_interval(secs => $2)) "
            ">= now() + make_interval(secs => $2) - interval '1 second'",
            b.effective_from,
            lead,
        )
        if starts is None:
            raise FeeScheduleTooSoon(
                "a fee schedule takes effect at least a minute ahead",
                meta={"field": "body.effectiveFrom", "minLeadSeconds": int(lead)},
            )
        clash = await conn.fetchrow(
            "SELECT version, effective_from FROM ledger_fee_schedules "
            "WHERE version = $1 OR effective_from = $2",
            b.version,
            starts,
        )
        if clash is not None:
            raise FeeScheduleExists(
                "a fee schedule with this version or start time exists",
                meta={"version": clash["version"]},
            )
        await conn.execute(
            "INSERT INTO ledger_fee_schedules (version, creator_bps, platform_bps, referral_bps, "
            "effective_from, platform_rounding) VALUES ($1, $2, $3, $4, $5, $6)",
            b.version,
            BPS - b.platform_bps,
            b.platform_bps,
            b.referral_bps,
            starts,
            b.platform_rounding,
        )
        await audit.record(
            conn,
            "admin.fees.scheduled",
            actor_id=call.principal.user_id,
            ip=call.ip,
            target=f"fee_schedule:{b.version}",
            meta={
                "version": b.version,
                "platformBps": b.platform_bps,
                "referralBps": b.referral_bps,
                "platformRounding": b.platform_rounding,
                "effectiveFrom": starts.isoformat(),
            },
        )
    rows = await db.fetch(_SCHEDULES)
    return next(FeeScheduleOut.model_validate(dict(r)) for r in rows if r["version"] == b.version)


class BillingStopIn(Input):
    reason: str = Field(min_length=3, max_length=500)


class BillingHold(Output):
    hold_id: uuid.UUID
    purpose: str
    state: str
    amount: int
    captured: int


class BillingStopOut(Output):
    stream_id: uuid.UUID
    reason: str
    private_shows: list[uuid.UUID]
    ticket_shows: list[uuid.UUID]
    goal_id: uuid.UUID | None
    holds: list[BillingHold]
    captured: int = Field(description="Tokens captured for completed minutes")
    released: int = Field(description="Tokens given back to viewers")


@api.route(
    "POST",
    "/api/v1/admin/streams/{stream_id}/billing-stop",
    summary="Kill switch: stop a stream's billing and settle its holds",
    body=BillingStopIn,
    response=BillingStopOut,
    permission=Permission.SYSTEM_CONFIG_LIMITED,
    path_formats={"stream_id": STREAM_ID},
    ranked="stream.billing_stop",
)
async def stop_stream_billing(call: Call[BillingStopIn, None]) -> BillingStopOut:
    """Idempotent: a second call settles nothing more (its answer lists no holds)."""
    stream = await existing_stream(call)
    await check_may_act_on(
        call.app[POOL], call.principal, stream.creator_id, action="stream.billing_stop"
    )
    reason = f"stopped by an administrator: {call.body.reason}"
    report = await call.app[LEDGER].stop_billing(stream.id, reason)
    out: dict[str, Any] = report.public()
    await audit.record(
        call.app[POOL],
        "admin.billing.stopped",
        actor_id=call.principal.user_id,
        subject_id=stream.creator_id,
        target=f"stream:{stream.id}",
        ip=call.ip,
        meta={
            "reason": call.body.reason,
            "holds": len(report.holds),
            "captured": report.captured,
            "released": report.released,
            "privateShows": out["privateShows"],
            "ticketShows": out["ticketShows"],
        },
    )
    return BillingStopOut.model_validate(out)
