"""Reports by members, the moderators' queue and actions, the moderation log, and appeals.

Every action resolves its report and appends to ``moderation_log`` in one transaction, so a
complaint is never resolved without a logged reason. Suspended and banned accounts cannot sign
in or publish (`actions.check_standing`); they appeal with their credentials instead of a
session (`POST /api/v1/appeals`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import EmailStr, Field

from api.auth.credentials import AUTH_LIMIT, Checker
from api.auth.errors import InvalidCredentials
from api.auth.ranks import check_may_act_on
from api.auth.rbac import Permission
from api.comments import store as comments
from api.keys import POOL, PUBSUB, SAFETY
from api.posts import store as posts
from api.realtime import CHAT
from api.reports import actions, store
from api.reports.errors import (
    APPEAL_ID,
    REPORT_ID,
    AlreadyResolved,
    AppealNotFound,
    AppealOpen,
    NotAffected,
    NotAppealable,
    ReportNotFound,
    TargetNotFound,
)
from api.routing import Api, Call, Page
from api.schema import Input, Output, Password
from api.streams import store as streams
from api.users import store as users
from api.wallet.service import LEDGER
from ingest.safety import request_freeze
from teezu.db import Db

api = Api("moderation")
Reason = Literal["underage", "non_consent", "violence", "harassment", "spam", "illegal", "other"]


class ReportIn(Input):
    target_type: actions.TargetType
    target_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,100}$")
    reason: Reason
    details: str = Field(default="", max_length=2000)


class ReportOut(Output):
    id: uuid.UUID
    target_type: str
    target_id: str
    subject_id: uuid.UUID | None
    reason: str
    details: str
    status: Literal["open", "resolved"]
    resolution: str | None
    created_at: datetime
    resolved_at: datetime | None
    age_seconds: int = Field(description="Seconds the complaint waited (until resolved, or now)")


class QueueQuery(Input):
    status: Literal["open", "resolved"] = "open"
    limit: int = Field(default=50, ge=1, le=200)


class MineQuery(Input):
    limit: int = Field(default=50, ge=1, le=200)


class ActionIn(Input):
    action: actions.Action
    note: str = Field(default="", max_length=2000)
    days: int = Field(default=7, ge=1, le=3650, description="Suspension length")


class LogQuery(Input):
    report_id: uuid.UUID | None = None
    limit: int = Field(default=50, ge=1, le=200)


class LogEntryOut(Output):
    id: int
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    report_id: uuid.UUID | None
    appeal_id: uuid.UUID | None
    target_type: str | None
    target_id: str | None
    subject_id: uuid.UUID | None
    note: str
    meta: dict[str, Any]


class AppealIn(Input):
    report_id: uuid.UUID
    text: str = Field(min_length=1, max_length=4000)
    # Without a session (a suspended or banned account cannot have one): the account's login,
    # checked like a sign-in (api.auth.credentials: back-off, counters, 2FA, audit).
    email: EmailStr | None = None
    password: Password | None = None
    code: str | None = Field(
        default=None, min_length=6, max_length=32, description="2FA code (or recovery code)"
    )


class AppealOut(Output):
    id: uuid.UUID
    report_id: uuid.UUID
    appellant_id: uuid.UUID
    text: str
    status: Literal["open", "upheld", "overturned"]
    created_at: datetime
    decided_at: datetime | None
    age_seconds: int


class DecisionIn(Input):
    decision: Literal["upheld", "overturned"]
    note: str = Field(default="", max_length=2000)


def _now() -> datetime:
    return datetime.now(UTC)


def report_out(r: store.ReportRow, now: datetime) -> ReportOut:
    end = r.resolved_at or now
    return ReportOut(
        id=r.id,
        target_type=r.target_type,
        target_id=r.target_id,
        subject_id=r.subject_id,
        reason=r.reason,
        details=r.details,
        status=r.status,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        resolution=r.resolution,
        created_at=r.created_at,
        resolved_at=r.resolved_at,
        age_seconds=max(0, int((end - r.created_at).total_seconds())),
    )


def appeal_out(a: store.AppealRow, now: datetime) -> AppealOut:
    end = a.decided_at or now
    return AppealOut(
        id=a.id,
        report_id=a.report_id,
        appellant_id=a.appellant_id,
        text=a.text,
        status=a.status,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        created_at=a.created_at,
        decided_at=a.decided_at,
        age_seconds=max(0, int((end - a.created_at).total_seconds())),
    )


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


async def _subject(db: Db, target_type: str, target_id: str) -> uuid.UUID | None:
    """The account a report is about; raises if a stream or user target does not exist."""
    if target_type == "message":
        # A chat message's author, when the id is one (else kept as given: a moderator sees it)
        key = _uuid(target_id)
        return (
            await db.fetchval("SELECT user_id FROM chat_messages WHERE id = $1", key)
            if key
            else None
        )
    key = _uuid(target_id)
    if target_type == "comment":
        author = (
            await db.fetchval("SELECT author_id FROM post_comments WHERE id = $1", key)
            if key
            else None
        )
        if author is None:
            raise TargetNotFound("no such comment", meta={"targetId": target_id})
        return author
    if target_type == "post":
        post = await posts.get(db, key) if key else None
        if post is None:
            raise TargetNotFound("no such post", meta={"targetId": target_id})
        return post.creator_id
    if target_type == "stream":
        stream = await streams.get_stream(db, key) if key else None
        if stream is None:
            raise TargetNotFound("no such stream", meta={"targetId": target_id})
        return stream.creator_id
    user = await users.get_by_id(db, key) if key else None
    if user is None:
        raise TargetNotFound("no such user", meta={"targetId": target_id})
    return user.id


@api.route(
    "POST",
    "/api/v1/reports",
    summary="Report a stream, user, message or post to the moderators",
    status=201,
    body=ReportIn,
    response=ReportOut,
    permission=Permission.REPORT,
    errors=(404,),
)
async def create_report(call: Call[ReportIn, None]) -> ReportOut:
    db = call.app[POOL]
    b = call.body
    subject = await _subject(db, b.target_type, b.target_id)
    assert call.principal.user_id is not None
    row = await store.create_report(
        db, call.principal.user_id, b.target_type, b.target_id, subject, b.reason, b.details
    )
    return report_out(row, _now())


@api.route(
    "GET",
    "/api/v1/reports",
    summary="My reports and where each stands",
    response=ReportOut,
    paginated=True,
    query=MineQuery,
    auth=True,
)
async def my_reports(call: Call[None, MineQuery]) -> Page[ReportOut]:
    assert call.principal.user_id is not None
    now = _now()
    rows = await store.reports_by(call.app[POOL], call.principal.user_id, call.query.limit)
    return Page([report_out(r, now) for r in rows])


@api.route(
    "GET",
    "/api/v1/moderation/reports",
    summary="The moderation queue: reports oldest first, with their age",
    response=ReportOut,
    paginated=True,
    query=QueueQuery,
    permission=Permission.MODERATE_ALL,
)
async def report_queue(call: Call[None, QueueQuery]) -> Page[ReportOut]:
    now = _now()
    rows = await store.queue(call.app[POOL], call.query.status, call.query.limit)
    return Page([report_out(r, now) for r in rows])


@api.route(
    "POST",
    "/api/v1/moderation/reports/{report_id}/actions",
    summary="Act on a report (dismiss, remove, warn, suspend, ban): resolves it, logged",
    body=ActionIn,
    response=ReportOut,
    permission=Permission.MODERATE_ALL,
    errors=(409,),
    path_formats={"report_id": REPORT_ID},
    ranked="report.action",
)
async def act_on_report(call: Call[ActionIn, None]) -> ReportOut:
    """403 `RANK_FORBIDDEN` when the report is about the moderator's own account or one of an
    equal or higher role (the rank rule, `api.auth.rbac`)."""
    db = call.app[POOL]
    report_id = call.id("report_id")
    report = await store.get_report(db, report_id)
    if report is None:
        raise ReportNotFound("no such report", meta={"reportId": str(report_id)})
    b = call.body
    await check_may_act_on(db, call.principal, report.subject_id, action="report.action")
    now = _now()
    effect = actions.effect(
        b.action,
        report.target_type,  # type: ignore[arg-type]  # a CHECK constraint keeps the column to the Literal's values
        report.subject_id,
        days=b.days,
        now=now,
    )
    moderator = call.principal.user_id
    async with db.acquire() as conn, conn.transaction():
        if not await store.resolve(conn, report.id, b.action):
            raise AlreadyResolved("this report is already resolved")
        if effect.user_status is not None:
            assert report.subject_id is not None
            await store.set_standing(
                conn, report.subject_id, effect.user_status, effect.suspended_until
            )
        meta: dict[str, Any] = {"ip": call.ip}
        if effect.suspended_until is not None:
            meta["until"] = effect.suspended_until.isoformat()
        if effect.reject_post:  # taken down: its media is no longer served
            await posts.review_outcome(conn, uuid.UUID(report.target_id), status="rejected")
        if effect.remove_comment:  # its text is emptied; replies stay under it
            await comments.remove(conn, uuid.UUID(report.target_id), "moderator")
        await store.log(conn, moderator, b.action, report=report, note=b.note, meta=meta)
    if effect.freeze_stream:
        stream = await streams.get_stream(db, uuid.UUID(report.target_id))
        if stream is not None and stream.state == "live":
            reason = f"removed by moderation ({report.reason})"
            safety = call.app.get(SAFETY)  # absent on the API role
            if (
                safety is None
                or await safety.freeze(report.target_id, reason, by=moderator) is None
            ):
                await request_freeze(call.app[PUBSUB], report.target_id, reason, by=moderator)
                await call.app[LEDGER].stop_billing(stream.id, reason)  # the kill switch
    if b.action == "remove" and report.target_type == "message":
        message_id = _uuid(report.target_id)
        if message_id is not None and moderator is not None:
            # gone for everyone, held or delivered (nothing to do for an unknown id)
            await call.app[CHAT].remove_message(None, message_id, by=moderator)
    done = await store.get_report(db, report.id)
    assert done is not None
    return report_out(done, now)


@api.route(
    "GET",
    "/api/v1/moderation/log",
    summary="The moderation log, newest first (optionally one report's)",
    response=LogEntryOut,
    paginated=True,
    query=LogQuery,
    permission=Permission.MODERATE_ALL,
)
async def moderation_log(call: Call[None, LogQuery]) -> Page[LogEntryOut]:
    rows = await store.log_entries(call.app[POOL], call.query.report_id, call.query.limit)
    return Page([LogEntryOut(**r) for r in rows])


async def _appellant(call: Call[AppealIn, None]) -> uuid.UUID:
    """The signed-in caller, or the account whose email and password the body carries."""
    if call.principal.user_id is not None:
        return call.principal.user_id
    b = call.body
    if b.email is None or b.password is None:
        raise InvalidCredentials("sign in, or give the account's email and password")
    checker = Checker(call.app, call.ip)
    user = await checker.check_password("appeal", b.password, email=b.email)
    await checker.check_second_factor("appeal", user, b.code)
    await checker.succeeded(user)
    return user.id


@api.route(
    "POST",
    "/api/v1/appeals",
    summary="Appeal a moderation decision about my account or content",
    status=201,
    body=AppealIn,
    response=AppealOut,
    errors=(401, 403, 404, 409),
    rate_limit=AUTH_LIMIT,
)
async def create_appeal(call: Call[AppealIn, None]) -> AppealOut:
    db = call.app[POOL]
    appellant = await _appellant(call)
    report = await store.get_report(db, call.body.report_id)
    if report is None:
        raise ReportNotFound("no such report", meta={"reportId": str(call.body.report_id)})
    if report.subject_id != appellant:
        raise NotAffected("only the account this decision was about may appeal it")
    if report.status != "resolved" or report.resolution not in actions.APPEALABLE:
        raise NotAppealable("only a decision against you can be appealed")
    appeal = await store.create_appeal(db, report.id, appellant, call.body.text)
    if appeal is None:
        raise AppealOpen("an appeal of this decision is already open")
    await store.log(db, appellant, "appeal", report=report, appeal_id=appeal.id)
    return appeal_out(appeal, _now())


@api.route(
    "GET",
    "/api/v1/moderation/appeals",
    summary="Open appeals, oldest first",
    response=AppealOut,
    paginated=True,
    query=MineQuery,
    permission=Permission.MODERATE_ALL,
)
async def appeal_queue(call: Call[None, MineQuery]) -> Page[AppealOut]:
    now = _now()
    return Page([appeal_out(a, now) for a in await store.open_appeals(call.app[POOL], 200)])


@api.route(
    "POST",
    "/api/v1/moderation/appeals/{appeal_id}/decision",
    summary="Uphold or overturn an appeal (overturning a suspension or ban restores the account)",
    body=DecisionIn,
    response=AppealOut,
    permission=Permission.MODERATE_ALL,
    errors=(409,),
    path_formats={"appeal_id": APPEAL_ID},
    ranked="appeal.decision",
)
async def decide_appeal(call: Call[DecisionIn, None]) -> AppealOut:
    db = call.app[POOL]
    appeal_id = call.id("appeal_id")
    appeal = await store.get_appeal(db, appeal_id)
    if appeal is None:
        raise AppealNotFound("no such appeal", meta={"appealId": str(appeal_id)})
    report = await store.get_report(db, appeal.report_id)
    assert report is not None
    await check_may_act_on(db, call.principal, appeal.appellant_id, action="appeal.decision")
    moderator = call.principal.user_id
    assert moderator is not None  # MODERATE_ALL: a signed-in account
    async with db.acquire() as conn, conn.transaction():
        if not await store.decide_appeal(conn, appeal.id, call.body.decision, moderator):
            raise AlreadyResolved("this appeal was already decided")
        if call.body.decision == "overturned" and report.resolution in ("suspend", "ban"):
            await conn.execute(
                "UPDATE users SET status = 'active', suspended_until = NULL WHERE id = $1",
                appeal.appellant_id,
            )
        await store.log(
            conn,
            moderator,
            f"appeal.{call.body.decision}",
            report=report,
            appeal_id=appeal.id,
            subject_id=appeal.appellant_id,
            note=call.body.note,
        )
    decided = await store.get_appeal(db, appeal.id)
    assert decided is not None
    return appeal_out(decided, _now())
