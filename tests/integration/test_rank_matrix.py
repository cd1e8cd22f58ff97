"""The rank rule over every moderation and admin action × every (actor role, target role) pair.

The actions are read from the served OpenAPI document (``x-ranked-action``) and from the
Socket.IO events that restrict someone; the expected outcome of each pair is computed from the
RBAC data (`api.auth.rbac.MATRIX`, `rank_refusal`), not written here. Each case runs for real:
a signed-in actor of the role, a fresh account of the target role, and a real object (report,
appeal, flag, stream, identity record, pending payout) about that account. The actor acting on
their own account is a ninth "target" for every actor role.

A state-changing staff route that acts on no account must say so in `NOT_ON_AN_ACCOUNT`; any
other one without ``x-ranked-action`` fails here, so a new moderation route cannot skip the
rule unnoticed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from api.auth.rbac import MATRIX, Permission, Role, rank_refusal
from api.chat import events
from api.moderation import store as moderation
from api.reports import store as reports
from api.streams import store as streams
from api.users import store as users
from api.verification.provider import IDENTITY
from api.verification.upload import Document, Submission
from api.wallet.model import IdempotencyKey
from api.wallet.payouts import PAYOUTS
from api.wallet.service import LEDGER
from api.wallet.tips import TipRequest
from tests.accounts import create_user
from tests.chatclient import ChatClient
from tests.identity import image
from tests.integration.wallet.conftest import fund, live_stream, make_old, shift
from tests.openapi_values import operations

pytestmark = pytest.mark.asyncio(loop_scope="session")

STAFF = {"moderation.all", "moderation.own", "system.config_limited", "system.config_root"}
# State-changing staff routes that act on no account (so the rank rule has nothing to weigh).
NOT_ON_AN_ACCOUNT = {
    "change_safety": "the caller's own rooms' settings",
    "add_banned_word": "the caller's own word list",
    "remove_banned_word": "the caller's own word list",
    "set_age_rule": "a jurisdiction's age rule: site configuration",
    "create_fee_schedule": "the platform's fee schedule: site configuration",
    "unfreeze_stream": "lifts a restriction: it can only help the stream's creator",
}
SOCKET_ACTIONS = {"chat.ban": events.BAN, "chat.timeout": events.TIMEOUT}


@dataclass
class Ctx:
    server: Any
    reporter: uuid.UUID

    @property
    def pool(self) -> Any:
        return self.server.pool


Setup = Callable[[Ctx, users.UserRow], Awaitable[tuple[str, dict[str, Any] | None]]]


async def _report(ctx: Ctx, target: users.UserRow) -> reports.ReportRow:
    return await reports.create_report(
        ctx.pool, ctx.reporter, "user", str(target.id), target.id, "spam", "matrix"
    )


async def report_action(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    r = await _report(ctx, target)
    return f"/api/v1/moderation/reports/{r.id}/actions", {"action": "warn"}


async def appeal_decision(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    r = await _report(ctx, target)
    async with ctx.pool.acquire() as conn:
        await reports.resolve(conn, r.id, "warn")
    appeal = await reports.create_appeal(ctx.pool, r.id, target.id, "please")
    assert appeal is not None
    return f"/api/v1/moderation/appeals/{appeal.id}/decision", {"decision": "upheld"}


async def _stream(ctx: Ctx, owner: users.UserRow) -> uuid.UUID:
    row, _ = await streams.create_stream(
        ctx.pool, title="Matrix", creator_handle=owner.handle, creator_id=owner.id
    )
    return row.id


async def flag_resolve(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    flag = await moderation.add_flag(
        ctx.pool, await _stream(ctx, target), kind="frame", reason="matrix", snapshot_key=None
    )
    return f"/api/v1/moderation/flags/{flag}/resolve", {"decision": "dismiss"}


async def stream_rating(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    return f"/api/v1/streams/{await _stream(ctx, target)}/rating", {"rating": "sfw"}


async def billing_stop(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    return f"/api/v1/admin/streams/{await _stream(ctx, target)}/billing-stop", {"reason": "matrix"}


async def identity_review(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    docs = [Document("id_front", "image/png", image()), Document("selfie", "image/png", image())]
    sub = Submission("Matrix Person", date(1990, 1, 1), [], docs)
    record = await ctx.server.app[IDENTITY].submit(ctx.pool, target.id, sub)
    return f"/api/v1/verification/records/{record}/reviews", {"status": "approved"}


async def role_grant(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    return f"/api/v1/admin/users/{target.handle}/roles", {"role": "member"}


async def role_revoke(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    return f"/api/v1/admin/users/{target.handle}/roles/member_plus", None


async def account_erase(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    return f"/api/v1/admin/users/{target.id}/erase", None


async def payout(ctx: Ctx, target: users.UserRow) -> tuple[str, dict[str, Any] | None]:
    """A real pending payout of ``target``: earned by a real tip, matured, requested."""
    ledger, payouts = ctx.server.app[LEDGER], ctx.server.app[PAYOUTS]
    await make_old(ctx.server, target.id, 200)
    viewer = uuid.uuid4()
    await fund(ledger, viewer, 125)
    stream = await live_stream(ctx.pool, target.id)
    tipped = await ledger.tip(IdempotencyKey(viewer, uuid.uuid4().hex), TipRequest(stream, 125))
    assert tipped.ok, tipped
    outcome = await payouts.request(IdempotencyKey(target.id, uuid.uuid4().hex), 100)
    assert outcome.ok, outcome
    return "/api/v1/admin/payouts/{}/{{verb}}".format(outcome.data["payout"]["id"]), {}


SETUPS: dict[str, Setup] = {
    "report.action": report_action,
    "appeal.decision": appeal_decision,
    "flag.resolve": flag_resolve,
    "stream.rating": stream_rating,
    "stream.billing_stop": billing_stop,
    "identity.review": identity_review,
    "role.grant": role_grant,
    "role.revoke": role_revoke,
    "account.erase": account_erase,
    "payout.decision": payout,
}


def expected(actor: Role, target: Role | None, permission: str, *, room_owner: bool = False) -> str:
    """ "ok", "FORBIDDEN" (the matrix) or "RANK_FORBIDDEN" (the rank rule), from the data."""
    if Permission(permission) not in MATRIX[actor]:
        return "FORBIDDEN"
    refusal = rank_refusal(
        {actor, Role.VIEWER},
        {target if target is not None else actor},
        same_account=target is None,
        room_owner=room_owner,
    )
    return "ok" if refusal is None else "RANK_FORBIDDEN"


@pytest.fixture(scope="module")
def doc(server) -> dict[str, Any]:
    from api.openapi import document
    from api.routing import ROUTES

    return document(server.app[ROUTES])


async def test_every_staff_route_that_changes_state_is_ranked_or_says_why_not(doc):
    unranked = {
        op.id
        for op in operations(doc)
        if op.method != "GET" and op.permission in STAFF and "x-ranked-action" not in op.op
    }
    assert unranked == set(NOT_ON_AN_ACCOUNT)
    ranked = {op.op["x-ranked-action"] for op in operations(doc) if "x-ranked-action" in op.op}
    assert ranked == set(SETUPS)


async def test_every_ranked_action_for_every_actor_and_target_role(server, account, doc):
    actors = {role: await account(role) for role in Role}
    reporter = await account()
    ctx = Ctx(server, reporter.id)
    payouts = server.app[PAYOUTS]
    saved = (payouts.clock, payouts.minimum)
    payouts.minimum = 100
    shift(payouts, 8)
    outcomes: dict[str, int] = {}
    try:
        for op in operations(doc):
            action = op.op.get("x-ranked-action")
            if action is None:
                continue
            for actor_role, actor in actors.items():
                for target_role in [*Role, None]:  # None: the actor's own account
                    want = expected(actor_role, target_role, op.permission)
                    if want == "FORBIDDEN" and target_role is not None:
                        continue  # refused before any target is read: once per actor is enough
                    if target_role is None:
                        target = await users.get_by_id(server.pool, actor.id)
                    else:
                        target = await create_user(server, frozenset({target_role}))
                    assert target is not None
                    path, body = await SETUPS[action](ctx, target)
                    path = path.replace("{verb}", op.path.rsplit("/", 1)[-1])
                    r = await actor.call(op.method, path, json=body)
                    got = "ok" if r.status < 300 else r.code
                    case = (op.id, str(actor_role), str(target_role or "self"))
                    assert got == want, (case, r.status, r.body)
                    if want == "RANK_FORBIDDEN":
                        assert r.status == 403 and r.body["meta"]["action"] == action
                    outcomes[want] = outcomes.get(want, 0) + 1
    finally:
        payouts.clock, payouts.minimum = saved
    print("rank matrix outcomes:", outcomes)
    ranked_ops = [op for op in operations(doc) if "x-ranked-action" in op.op]
    cases = sum(
        1 if expected(actor, None, op.permission) == "FORBIDDEN" else len(Role) + 1
        for op in ranked_ops
        for actor in Role
    )
    assert sum(outcomes.values()) == cases and outcomes["ok"] and outcomes["RANK_FORBIDDEN"]


async def test_chat_restrictions_for_every_actor_and_target_role(server, account):
    """chat:ban and chat:timeout, each actor in the room it has most power in: a creator or
    provider in their own room (ranked as its owner), anyone else in someone else's."""
    owner = await account(Role.CREATOR)
    neutral, _ = await streams.create_stream(
        server.pool, title="Neutral", creator_handle=owner.handle, creator_id=owner.id
    )
    checked = 0
    for actor_role in Role:
        actor = await account(actor_role)
        owns = Permission.MODERATE_OWN in MATRIX[actor_role]
        if owns:
            room, _ = await streams.create_stream(
                server.pool, title="Mine", creator_handle=actor.handle, creator_id=actor.id
            )
        else:
            room = neutral
        client = await ChatClient().connect(
            server.base_url, headers={"Cookie": f"session={actor.cookie()}"}
        )
        try:
            assert (await client.join(str(room.id)))["ok"]
            moderates = Permission.MODERATE_ALL in MATRIX[actor_role] or owns
            for action, event in SOCKET_ACTIONS.items():
                for target_role in [*Role, None]:
                    if target_role is None:
                        target_id = actor.id
                    else:
                        target_id = (await create_user(server, frozenset({target_role}))).id
                    payload = {"streamId": str(room.id), "userId": str(target_id)}
                    if event == events.TIMEOUT:
                        payload["seconds"] = 60
                    ack = await client.call(event, payload)
                    if not moderates:
                        want = "MODERATION_FORBIDDEN"
                    else:
                        want = expected(
                            actor_role,
                            target_role,
                            str(Permission.MODERATE_OWN if owns else Permission.MODERATE_ALL),
                            room_owner=owns and Permission.MODERATE_ALL not in MATRIX[actor_role],
                        )
                    got = "ok" if ack["ok"] else ack["code"]
                    assert got == want, (action, str(actor_role), str(target_role), ack)
                    checked += 1
        finally:
            await client.sio.disconnect()
    assert checked == len(Role) * (len(Role) + 1) * len(SOCKET_ACTIONS)
