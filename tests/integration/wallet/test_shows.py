"""Paid shows over HTTP on a real server and PostgreSQL, with a fast billing minute: private
shows billed per minute, ticket shows and who they admit, refundable pledges, profile tips,
and the kill switch (safe word) stopping billing at once. The books balance after each flow
(`teezu ledger check`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from api.app import create_app
from api.auth.rbac import Role
from api.keys import POOL
from api.wallet.check import check_books
from api.wallet.service import LEDGER, Ledger
from teezu.settings import Settings
from tests.accounts import Account, Client, create_user
from tests.conftest import free_port
from tests.integration.wallet.conftest import fresh_database, fund, live_stream
from tests.integration.wallet.test_wallet_api import assert_envelope, balance, key
from tests.performers import make_ready
from tests.publisher import publish
from workers.ledger import ledger_pass

pytestmark = pytest.mark.asyncio(loop_scope="session")

MINUTE = 0.4  # seconds: the billing "minute" of this server
PRICE = 10


class Server:
    def __init__(self, base_url: str, app: web.Application) -> None:
        self.base_url = base_url
        self.app = app

    @property
    def pool(self) -> Any:
        return self.app[POOL]

    @property
    def ledger(self) -> Ledger:
        return self.app[LEDGER]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shows(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """A node (ingest included) on a database of its own, billing every ``MINUTE`` seconds."""
    dsn = await fresh_database(pg_dsn, "teezu_shows")
    port = free_port()
    settings = Settings(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        var_dir=tmp_path_factory.mktemp("shows-var"),
        node_id="shows-test-node",
        edge_port=0,  # no LL-HLS edge: it would bind port + 1, maybe taken by another server
        age_gate_enabled=False,  # tests/integration/test_age_gate.py covers the gate
        # No inference per sampled frame on 2 cores: test_moderation.py runs the workers.
        moderation_enabled=False,
        payment_webhook_secret="test-webhook-secret",
        # Hold expiry runs when these tests call `ledger_pass`, not on a timer mid-flow.
        ledger_job_interval=3600,
        show_billing_interval_seconds=MINUTE,
        # Hundreds of requests and sign-ins from 127.0.0.1 (as in tests/conftest.py).
        rate_limit_requests=1_000_000,
        auth_rate_limit_requests=1_000_000,
        login_backoff_ip_after=1_000_000,
        bcrypt_rounds=4,
    )
    app = create_app(settings, dsn=dsn)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield Server(f"http://127.0.0.1:{port}", app)
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def member(shows: Server) -> AsyncIterator[Any]:
    made: list[Account] = []

    async def make(*roles: Role) -> Account:
        user = await create_user(shows, frozenset(roles or {Role.MEMBER}))
        acct = Account(shows.base_url, id=user.id, handle=user.handle, email=user.email)
        made.append(acct)
        reply = await acct.login()
        assert reply.status == 200, reply.body
        return acct

    yield make
    for acct in made:
        await acct.close()


async def books_balance(server: Server) -> None:
    report = await check_books(server.pool)
    assert report.ok, report.problems


async def earnings(acct: Account) -> int:
    return (await balance(acct))["earnings"]


async def until(fetch, done, timeout: float = 15.0) -> Any:
    """Poll ``fetch()`` until ``done(value)``; returns the value (fails at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, value
        await asyncio.sleep(0.05)


async def show_of(acct: Account, show_id: str) -> dict[str, Any]:
    reply = await acct.call("GET", f"/api/v1/private-shows/{show_id}")
    assert reply.status == 200, reply.body
    return reply.data


async def hold(server: Server, hold_id: str) -> Any:
    return await server.pool.fetchrow(
        "SELECT state, amount, captured, stream_id, ref_id, purpose FROM ledger_holds "
        "WHERE id = $1",
        uuid.UUID(hold_id),
    )


async def priced_creator(member) -> Account:
    creator = await member(Role.CREATOR)
    reply = await creator.call("PUT", "/api/v1/private-shows/price", json={"pricePerMinute": PRICE})
    assert reply.status == 200 and reply.data == {"pricePerMinute": PRICE}, reply.body
    return creator


async def running_show(
    server: Server, member, tokens: int
) -> tuple[Account, Account, uuid.UUID, dict]:
    """A creator with a price, a viewer with ``tokens``, a live stream and an accepted show."""
    creator = await priced_creator(member)
    viewer = await member()
    await fund(server.ledger, viewer.id, tokens)
    stream = await live_stream(server.pool, creator.id)
    asked = await viewer.call(
        "POST", f"/api/v1/streams/{stream}/private-shows", json={"pricePerMinute": PRICE}
    )
    assert asked.status == 201 and asked.data["state"] == "requested", asked.body
    started = await creator.call("POST", f"/api/v1/private-shows/{asked.data['id']}/accept")
    assert started.status == 200 and started.data["state"] == "running", started.body
    return creator, viewer, stream, started.data


# ---- private shows --------------------------------------------------------------------------


async def test_private_show_requests_are_refused_with_the_envelope(shows, member):
    creator = await priced_creator(member)
    unpriced, viewer, poor = await member(Role.CREATOR), await member(), await member()
    await fund(shows.ledger, viewer.id, 100)
    await fund(shows.ledger, poor.id, 5)
    stream = await live_stream(shows.pool, creator.id)
    idle = await live_stream(shows.pool, creator.id, state="idle")
    other = await live_stream(shows.pool, unpriced.id)
    path = f"/api/v1/streams/{stream}/private-shows"
    ask = {"pricePerMinute": PRICE}
    assert_envelope(
        await viewer.call("POST", path, json={"pricePerMinute": 9}), 409, "SHOW_PRICE_CHANGED"
    )
    assert_envelope(await creator.call("POST", path, json=ask), 422, "CANNOT_PAY_SELF")
    assert_envelope(await poor.call("POST", path, json=ask), 402, "INSUFFICIENT_FUNDS")
    assert_envelope(
        await viewer.call("POST", f"/api/v1/streams/{idle}/private-shows", json=ask),
        409,
        "STREAM_NOT_LIVE",
    )
    assert_envelope(
        await viewer.call("POST", f"/api/v1/streams/{other}/private-shows", json=ask),
        409,
        "PRIVATE_SHOWS_OFF",
    )
    assert_envelope(
        await viewer.call("POST", f"/api/v1/streams/{uuid.uuid4()}/private-shows", json=ask),
        404,
        "STREAM_NOT_FOUND",
    )
    assert_envelope(
        await viewer.call("POST", path, json={"pricePerMinute": 10.0}), 422, "VALIDATION_ERROR"
    )
    asked = await viewer.call("POST", path, json=ask)
    assert asked.status == 201, asked.body
    assert_envelope(await viewer.call("POST", path, json=ask), 409, "SHOW_ALREADY_OPEN")
    show = f"/api/v1/private-shows/{asked.data['id']}"
    # The creator's queue lists it; to anyone else the stream's requests are not there.
    queue = await creator.call("GET", path)
    assert queue.status == 200 and [q["id"] for q in queue.data] == [asked.data["id"]], queue.body
    assert_envelope(await viewer.call("GET", path), 404, "STREAM_NOT_FOUND")
    stranger = await member(Role.CREATOR)
    assert_envelope(await stranger.call("GET", show), 404, "SHOW_NOT_FOUND")
    assert_envelope(await stranger.call("POST", f"{show}/accept"), 404, "SHOW_NOT_FOUND")
    assert_envelope(await viewer.call("POST", f"{show}/accept"), 403, "NOT_SHOW_PARTY")
    anonymous = Client(shows.base_url)
    try:
        assert_envelope(await anonymous.call("POST", f"{show}/accept"), 401, "UNAUTHENTICATED")
    finally:
        await anonymous.close()
    # The creator declines: nothing moved, and it cannot be accepted any more.
    declined = await creator.call("POST", f"{show}/end")
    assert declined.status == 200 and declined.data["state"] == "declined", declined.body
    assert (await creator.call("GET", path)).data == []
    assert_envelope(await creator.call("POST", f"{show}/accept"), 409, "SHOW_STATE_CONFLICT")
    assert (await balance(viewer))["balance"] == 100
    # The viewer spent their tokens meanwhile: the accept's reserve is the real gate.
    asked = await viewer.call("POST", path, json=ask)
    tip = await viewer.call(
        "POST", f"/api/v1/streams/{other}/tip", json={"amount": 95}, headers=key()
    )
    assert tip.status == 201, tip.body
    refused = await creator.call("POST", f"/api/v1/private-shows/{asked.data['id']}/accept")
    assert_envelope(refused, 402, "INSUFFICIENT_FUNDS")
    after = await show_of(viewer, asked.data["id"])
    assert (after["state"], after["endReason"]) == ("cancelled", "insufficient_funds")
    await books_balance(shows)


async def test_a_private_show_bills_each_minute_until_the_wallet_runs_out(shows, member):
    creator, viewer, stream, show = await running_show(shows, member, 35)
    assert show["billedMinutes"] == 1 and show["holdId"]
    wallet = await balance(viewer)  # a slow machine may already be in minute 2
    assert wallet["balance"] + wallet["held"] == 35 and wallet["held"] in (10, 20, 30)
    h = await hold(shows, show["holdId"])
    assert (h["purpose"], h["stream_id"], str(h["ref_id"])) == ("private_show", stream, show["id"])
    running = await shows.ledger.private_shows.running_on(stream)
    assert running is not None and str(running.id) == show["id"]
    # Minutes 2 and 3 are reserved at their start; minute 4 cannot be paid (5 tokens left).
    ended = await until(lambda: show_of(viewer, show["id"]), lambda s: s["state"] == "ended")
    assert ended["endReason"] == "insufficient_funds"
    assert (ended["billedMinutes"], ended["charged"]) == (3, 30)
    # The end (fixing what is charged) commits first, then the hold's capture: the billing
    # task does both, so a reader can see the show ended a moment before the money moves.
    wallet = await until(lambda: balance(viewer), lambda w: w["held"] != 30)
    assert (wallet["balance"], wallet["held"]) == (5, 0)
    h = await hold(shows, show["holdId"])
    assert (h["state"], h["amount"], h["captured"]) == ("captured", 30, 30)
    assert await earnings(creator) == 24  # 80% under the 2026-01 schedule
    assert shows.ledger.private_shows.billing(stream) == []
    await books_balance(shows)


async def test_either_side_ends_a_private_show_and_pays_each_minute_begun(shows, member):
    creator, viewer, stream, show = await running_show(shows, member, 1000)
    await until(lambda: show_of(viewer, show["id"]), lambda s: s["billedMinutes"] >= 2)
    ended = await viewer.call("POST", f"/api/v1/private-shows/{show['id']}/end")
    assert ended.status == 200 and ended.data["state"] == "ended", ended.body
    charged = ended.data["charged"]
    assert charged == ended.data["billedMinutes"] * PRICE and charged >= 2 * PRICE
    assert ended.data["endReason"] == "ended by the viewer"
    again = await creator.call("POST", f"/api/v1/private-shows/{show['id']}/end")
    assert again.status == 200 and again.data["charged"] == charged
    await asyncio.sleep(MINUTE * 2.5)  # no billing after the end
    wallet = await balance(viewer)
    assert (wallet["balance"], wallet["held"]) == (1000 - charged, 0)
    h = await hold(shows, show["holdId"])
    assert (h["state"], h["captured"]) == ("captured", charged)
    assert await earnings(creator) == charged * 8 // 10
    await books_balance(shows)


async def test_a_double_accept_starts_one_show_with_one_hold(shows, member):
    creator = await priced_creator(member)
    viewer = await member()
    await fund(shows.ledger, viewer.id, 100)
    stream = await live_stream(shows.pool, creator.id)
    asked = await viewer.call(
        "POST", f"/api/v1/streams/{stream}/private-shows", json={"pricePerMinute": PRICE}
    )
    accept = f"/api/v1/private-shows/{asked.data['id']}/accept"
    replies = await asyncio.gather(*(creator.call("POST", accept) for _ in range(4)))
    assert {r.status for r in replies} == {200}, [r.body for r in replies]
    assert len({r.data["holdId"] for r in replies}) == 1
    holds = await shows.pool.fetchval(
        "SELECT count(*) FROM ledger_holds WHERE ref_id = $1", uuid.UUID(asked.data["id"])
    )
    assert holds == 1 and shows.ledger.private_shows.billing(stream) == [
        uuid.UUID(asked.data["id"])
    ]
    ended = await creator.call("POST", f"/api/v1/private-shows/{asked.data['id']}/end")
    assert ended.status == 200 and ended.data["endReason"] == "ended by the creator"
    wallet = await balance(viewer)
    assert (wallet["balance"], wallet["held"]) == (100 - ended.data["charged"], 0)
    await books_balance(shows)


async def test_billing_survives_a_restart_through_the_ledger_worker(shows, member):
    """A node that dies stops extending: its shows end when it starts again (completed minutes
    only), or, if it never comes back, the hold expires and the ledger worker releases it."""
    creator = await priced_creator(member)
    viewer, other = await member(), await member()
    for v in (viewer, other):
        await fund(shows.ledger, v.id, 500)
    stream = await live_stream(shows.pool, creator.id)
    dead = Ledger(shows.pool, show_interval_ms=round(MINUTE * 1000), node_id="dead-node")
    started = []
    for v in (viewer, other):
        asked = await v.call(
            "POST", f"/api/v1/streams/{stream}/private-shows", json={"pricePerMinute": PRICE}
        )
        assert asked.status == 201, asked.body
        show = await dead.private_shows.get(uuid.UUID(asked.data["id"]))
        assert show is not None
        started.append(await dead.private_shows.accept(show, creator.id))
        # The node dies: its billing task is gone, the show stays 'running' in the database.
        for task in list(dead.private_shows._tasks.values()):
            task.cancel()
        if len(started) == 1:
            first = started[0]
            # Back up again: the shows it billed end, charging the completed minutes only.
            assert (
                await Ledger(
                    shows.pool, show_interval_ms=round(MINUTE * 1000), node_id="dead-node"
                ).private_shows.end_orphans()
                == 1
            )
            ended = await show_of(viewer, str(first.id))
            assert (ended["state"], ended["endReason"]) == ("ended", "node restarted")
            assert ended["charged"] <= ended["billedMinutes"] * PRICE
    second = started[1]
    # Never back: the hold's expiry passes (moved here instead of waiting) ...
    await shows.pool.execute(
        "UPDATE ledger_holds SET expires_at = now() - interval '1 second' WHERE id = $1",
        second.hold_id,
    )
    await ledger_pass(shows.ledger)
    h = await hold(shows, str(second.hold_id))
    assert h["state"] == "expired"
    ended = await show_of(other, str(second.id))
    assert (ended["state"], ended["charged"], ended["endReason"]) == ("ended", 0, "hold expired")
    assert (await balance(other))["balance"] == 500
    await books_balance(shows)


# ---- the kill switch ------------------------------------------------------------------------


async def test_the_kill_switch_charges_completed_minutes_and_an_end_every_minute_begun(
    shows, member
):
    """With a one-minute minute nothing completes during the test: the kill switch charges
    nothing, an ordinary end charges the minute begun."""
    slow = Ledger(shows.pool, show_interval_ms=60_000, node_id="slow-node")
    creator = await priced_creator(member)
    viewer = await member()
    await fund(shows.ledger, viewer.id, 100)
    ended = {}
    for how in ("end", "kill"):
        stream = await live_stream(shows.pool, creator.id)
        asked = await viewer.call(
            "POST", f"/api/v1/streams/{stream}/private-shows", json={"pricePerMinute": PRICE}
        )
        show = await slow.private_shows.get(uuid.UUID(asked.data["id"]))
        assert show is not None
        started = await slow.private_shows.accept(show, creator.id)
        assert slow.private_shows.billing(stream) == [started.id]
        if how == "end":
            done = await slow.private_shows.end(started, viewer.id)
        else:
            report = await slow.stop_billing(stream, "consent revoked")
            assert report.private_shows == [started.id] and report.captured == 0
            assert report.holds[0]["state"] == "released" and report.released == PRICE
            done = await slow.private_shows.get(started.id)
        assert done is not None and slow.private_shows.billing(stream) == []
        ended[how] = done
    assert (ended["end"].charged, ended["kill"].charged) == (PRICE, 0)
    assert (await balance(viewer))["balance"] == 100 - PRICE
    # Racing kill switches (the safe word here, the holder's freeze there): one of them ends
    # the show, and its hold is settled by exactly one transaction.
    stream = await live_stream(shows.pool, creator.id)
    asked = await viewer.call(
        "POST", f"/api/v1/streams/{stream}/private-shows", json={"pricePerMinute": PRICE}
    )
    show = await slow.private_shows.get(uuid.UUID(asked.data["id"]))
    assert show is not None
    started = await slow.private_shows.accept(show, creator.id)
    reports = await asyncio.gather(
        *((slow if i % 2 else shows.ledger).stop_billing(stream, "safe word") for i in range(6))
    )
    assert sum(len(r.private_shows) for r in reports) == 1
    settles = await shows.pool.fetchval(
        "SELECT count(*) FROM ledger_transactions WHERE hold_id = $1 "
        "AND kind IN ('hold_capture', 'hold_release')",
        started.hold_id,
    )
    assert settles == 1
    assert (await balance(viewer))["balance"] == 100 - PRICE
    await slow.private_shows.close()
    await books_balance(shows)


async def test_the_safe_word_stops_billing_at_once_and_settles_every_hold(shows, member):
    creator, viewer, stream, show = await running_show(shows, member, 1000)
    fan, backer = await member(), await member()
    for v in (fan, backer):
        await fund(shows.ledger, v.id, 300)
    ticket_show = await creator.call(
        "POST", f"/api/v1/streams/{stream}/ticket-shows", json={"title": "Later", "price": 40}
    )
    assert ticket_show.status == 201, ticket_show.body
    bought = await fan.call(
        "POST", f"/api/v1/ticket-shows/{ticket_show.data['id']}/tickets", headers=key()
    )
    assert bought.status == 201 and bought.data["ticket"] == "held", bought.body
    goal = await creator.call(
        "POST",
        f"/api/v1/streams/{stream}/goal",
        json={"title": "Pledges", "target": 1000, "mode": "pledge"},
    )
    assert goal.status == 201, goal.body
    pledged = await backer.call(
        "POST", f"/api/v1/streams/{stream}/goal/pledges", json={"amount": 70}, headers=key()
    )
    assert pledged.status == 201 and pledged.data["pledge"] == "held", pledged.body
    await until(lambda: show_of(viewer, show["id"]), lambda s: s["billedMinutes"] >= 2)

    # The stream is live on no node here: the route stops the billing itself.
    word = await creator.call("POST", f"/api/v1/streams/{stream}/safe-word")
    assert word.status == 200 and word.data["frozen"], word.body
    ended = await show_of(viewer, show["id"])
    assert (ended["state"], ended["endReason"]) == ("ended", "safe word")
    # Completed minutes only (never more than was reserved; the exact rule is proven with a
    # long minute below, where timing cannot blur it).
    assert ended["charged"] <= ended["billedMinutes"] * PRICE and ended["charged"] % PRICE == 0
    h = await hold(shows, show["holdId"])
    assert h["state"] in ("captured", "released") and (h["captured"] or 0) == ended["charged"]
    held = h["amount"]
    assert shows.ledger.private_shows.billing(stream) == []
    await asyncio.sleep(MINUTE * 3)  # no further extension
    h = await hold(shows, show["holdId"])
    assert h["amount"] == held
    assert (await show_of(viewer, show["id"]))["billedMinutes"] == ended["billedMinutes"]
    assert (await hold(shows, bought.data["holdId"]))["state"] == "released"
    assert (await hold(shows, pledged.data["holdId"]))["state"] == "released"
    for v, left in ((viewer, 1000 - ended["charged"]), (fan, 300), (backer, 300)):
        wallet = await balance(v)
        assert (wallet["balance"], wallet["held"]) == (left, 0)
    cancelled = await creator.call("GET", f"/api/v1/ticket-shows/{ticket_show.data['id']}")
    assert cancelled.data["state"] == "cancelled"
    assert (await creator.call("GET", f"/api/v1/streams/{stream}/goal")).data["state"] == (
        "cancelled"
    )
    # Exactly once: stopping again ends nothing more.
    again = await shows.ledger.stop_billing(stream, "safe word")
    assert (again.holds, again.private_shows, again.ticket_shows, again.captured) == ([], [], [], 0)
    await books_balance(shows)


async def test_freeze_on_the_node_holding_the_broadcast_stops_billing(shows, member):
    """The real path: a WHIP broadcast on this node, the safe word freezes it through
    `SafetyControl.freeze`, whose on_frozen hook runs the kill switch; the broadcast's end
    releases a pledge goal's pledges."""
    creator = await priced_creator(member)
    viewer, backer = await member(), await member()
    await fund(shows.ledger, viewer.id, 500)
    await fund(shows.ledger, backer.id, 500)
    made = await creator.call("POST", "/api/v1/streams", json={"title": "Live"})
    assert made.status == 201, made.body
    sid, token = made.data["id"], made.data["publishToken"]
    # Go-live is gated as in production: the creator verified by a moderator, and checked in.
    await make_ready(sid, creator, reviewer=await member(Role.MODERATOR))
    async with aiohttp.ClientSession() as http:
        pub = await publish(http, shows.base_url, sid, token, audio=False, size=(320, 240))
        try:
            await until(
                lambda: shows.pool.fetchval(
                    "SELECT state FROM streams WHERE id = $1", uuid.UUID(sid)
                ),
                lambda s: s == "live",
            )
            asked = await viewer.call(
                "POST", f"/api/v1/streams/{sid}/private-shows", json={"pricePerMinute": PRICE}
            )
            assert asked.status == 201, asked.body
            started = await creator.call("POST", f"/api/v1/private-shows/{asked.data['id']}/accept")
            assert started.status == 200, started.body
            word = await viewer.call("POST", f"/api/v1/streams/{sid}/safe-word")
            assert_envelope(word, 403, "NOT_A_PERFORMER")
            word = await creator.call("POST", f"/api/v1/streams/{sid}/safe-word")
            assert word.status == 200 and not word.data["alreadyFrozen"], word.body
            assert word.data["appliedMs"] is not None  # frozen here, by SafetyControl.freeze
            ended = await show_of(viewer, asked.data["id"])
            assert (ended["state"], ended["endReason"]) == ("ended", "safe word")
            assert (await hold(shows, ended["holdId"]))["state"] != "held"
            # Nothing is sold on a frozen stream.
            refused = await viewer.call(
                "POST", f"/api/v1/streams/{sid}/private-shows", json={"pricePerMinute": PRICE}
            )
            assert_envelope(refused, 409, "STREAM_FROZEN")
            resumed = await creator.call(
                "POST", f"/api/v1/streams/{sid}/resume", json={"confirm": True}
            )
            assert resumed.status == 200, resumed.body
            goal = await creator.call(
                "POST",
                f"/api/v1/streams/{sid}/goal",
                json={"title": "Encore", "target": 900, "mode": "pledge"},
            )
            assert goal.status == 201, goal.body
            pledged = await backer.call(
                "POST",
                f"/api/v1/streams/{sid}/goal/pledges",
                json={"amount": 120},
                headers=key(),
            )
            assert pledged.status == 201, pledged.body
            assert (await balance(backer))["held"] == 120
        finally:
            await pub.delete(http, shows.base_url)
    # The broadcast ended first: the pledge goes back and the goal is cancelled.
    await until(lambda: hold(shows, pledged.data["holdId"]), lambda h: h["state"] == "released")
    wallet = await balance(backer)
    assert (wallet["balance"], wallet["held"]) == (500, 0)
    goal_now = await creator.call("GET", f"/api/v1/streams/{sid}/goal")
    assert goal_now.data["state"] == "cancelled"
    await books_balance(shows)


# ---- ticket shows ---------------------------------------------------------------------------


async def token_for(acct: Client, stream: uuid.UUID) -> Any:
    return await acct.call("POST", f"/api/v1/streams/{stream}/playback-tokens", json={})


async def test_a_ticket_show_sells_holds_captures_at_start_and_admits_holders_only(shows, member):
    creator, stranger = await member(Role.CREATOR), await member(Role.CREATOR)
    fan, late, poor, outsider = await member(), await member(), await member(), await member()
    for v in (fan, late, outsider):
        await fund(shows.ledger, v.id, 200)
    stream = await live_stream(shows.pool, creator.id)
    path = f"/api/v1/streams/{stream}/ticket-shows"
    assert_envelope(
        await stranger.call("POST", path, json={"title": "x", "price": 5}), 403, "NOT_STREAM_OWNER"
    )
    made = await creator.call("POST", path, json={"title": "Midnight", "price": 50})
    assert made.status == 201 and made.data["state"] == "announced", made.body
    assert_envelope(
        await creator.call("POST", path, json={"title": "x", "price": 5}), 409, "SHOW_ALREADY_OPEN"
    )
    tickets = f"/api/v1/ticket-shows/{made.data['id']}/tickets"
    assert_envelope(await fan.call("POST", tickets), 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert_envelope(await poor.call("POST", tickets, headers=key()), 402, "INSUFFICIENT_FUNDS")
    assert_envelope(await creator.call("POST", tickets, headers=key()), 422, "CANNOT_PAY_SELF")
    assert_envelope(
        await fan.call("POST", f"/api/v1/ticket-shows/{uuid.uuid4()}/tickets", headers=key()),
        404,
        "SHOW_NOT_FOUND",
    )
    k = key()
    bought = await fan.call("POST", tickets, headers=k)
    assert bought.status == 201 and bought.data["ticket"] == "held", bought.body
    replay = await fan.call("POST", tickets, headers=k)
    assert replay.status == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.data["holdId"] == bought.data["holdId"]
    assert_envelope(await fan.call("POST", tickets, headers=key()), 409, "ALREADY_HAS_TICKET")
    assert (await balance(fan))["balance"] == 150  # one ticket held, the second refused
    shows_info = await outsider.call("GET", f"/api/v1/streams/{stream}/shows")
    assert shows_info.data["ticketShow"]["tickets"] == 1
    assert (await token_for(outsider, stream)).status == 201  # public until the show starts

    start = f"/api/v1/ticket-shows/{made.data['id']}/start"
    assert_envelope(await stranger.call("POST", start), 403, "NOT_STREAM_OWNER")
    started = await creator.call("POST", start)
    assert started.status == 200 and started.data["state"] == "running", started.body
    assert (await hold(shows, bought.data["holdId"]))["state"] == "captured"
    assert (await balance(fan))["held"] == 0
    # The room admits ticket holders only: playback tokens, and the HLS origin wants one.
    assert (await token_for(fan, stream)).status == 201
    assert_envelope(await token_for(outsider, stream), 403, "PLAYBACK_DENIED")
    assert (await token_for(creator, stream)).status == 201
    anonymous = Client(shows.base_url)
    try:
        media = await anonymous.call("GET", f"/hls/{stream}/index.m3u8")
        assert media.status in (401, 403), media.body
    finally:
        await anonymous.close()
    # A ticket bought during the show is captured at once.
    latecomer = await late.call("POST", tickets, headers=key())
    assert latecomer.status == 201 and latecomer.data["ticket"] == "captured", latecomer.body
    assert (await token_for(late, stream)).status == 201
    closed = await creator.call("POST", f"/api/v1/ticket-shows/{made.data['id']}/close")
    assert closed.status == 200 and closed.data["state"] == "ended", closed.body
    assert_envelope(await outsider.call("POST", tickets, headers=key()), 409, "TICKET_SALES_CLOSED")
    assert (await token_for(outsider, stream)).status == 201  # open again
    assert await earnings(creator) == 2 * 40
    await books_balance(shows)


async def test_a_cancelled_ticket_show_releases_its_tickets(shows, member):
    creator, fan = await member(Role.CREATOR), await member()
    await fund(shows.ledger, fan.id, 100)
    stream = await live_stream(shows.pool, creator.id, state="idle")
    made = await creator.call(
        "POST", f"/api/v1/streams/{stream}/ticket-shows", json={"title": "Soon", "price": 30}
    )
    bought = await fan.call(
        "POST", f"/api/v1/ticket-shows/{made.data['id']}/tickets", headers=key()
    )
    assert bought.status == 201, bought.body
    assert_envelope(
        await creator.call("POST", f"/api/v1/ticket-shows/{made.data['id']}/start"),
        409,
        "STREAM_NOT_LIVE",
    )
    closed = await creator.call("POST", f"/api/v1/ticket-shows/{made.data['id']}/close")
    assert closed.status == 200 and closed.data["state"] == "cancelled", closed.body
    assert (await hold(shows, bought.data["holdId"]))["state"] == "released"
    wallet = await balance(fan)
    assert (wallet["balance"], wallet["held"]) == (100, 0)
    assert_envelope(
        await creator.call("POST", f"/api/v1/ticket-shows/{made.data['id']}/close"),
        409,
        "SHOW_STATE_CONFLICT",
    )
    await books_balance(shows)


# ---- pledges --------------------------------------------------------------------------------


async def test_pledges_are_captured_when_the_goal_completes_and_released_if_cancelled(
    shows, member
):
    creator = await member(Role.CREATOR)
    a, b = await member(), await member()
    for v in (a, b):
        await fund(shows.ledger, v.id, 200)
    stream = await live_stream(shows.pool, creator.id)
    pledges = f"/api/v1/streams/{stream}/goal/pledges"
    goal_path = f"/api/v1/streams/{stream}/goal"
    assert_envelope(
        await a.call("POST", pledges, json={"amount": 5}, headers=key()), 404, "GOAL_NOT_FOUND"
    )
    tips_goal = await creator.call("POST", goal_path, json={"title": "Tips", "target": 10})
    assert tips_goal.data["mode"] == "tips"
    assert_envelope(
        await a.call("POST", pledges, json={"amount": 5}, headers=key()), 409, "GOAL_NOT_PLEDGE"
    )
    await creator.call("DELETE", goal_path)
    goal = await creator.call(
        "POST", goal_path, json={"title": "Toy", "target": 100, "mode": "pledge"}
    )
    assert goal.status == 201 and goal.data["mode"] == "pledge", goal.body
    assert_envelope(
        await creator.call("POST", pledges, json={"amount": 5}, headers=key()),
        422,
        "CANNOT_PAY_SELF",
    )
    assert_envelope(
        await a.call("POST", pledges, json={"amount": 500}, headers=key()),
        402,
        "INSUFFICIENT_FUNDS",
    )
    first = await a.call("POST", pledges, json={"amount": 60}, headers=key())
    assert first.status == 201 and first.data["pledge"] == "held", first.body
    # A tip does not count towards a pledge goal.
    tip = await b.call("POST", f"/api/v1/streams/{stream}/tip", json={"amount": 10}, headers=key())
    assert tip.status == 201 and tip.data["goalId"] is None, tip.body
    now = await a.call("GET", goal_path)
    assert (now.data["progress"], now.data["state"]) == (60, "open")
    second = await b.call("POST", pledges, json={"amount": 50}, headers=key())
    assert second.status == 201 and second.data["pledge"] == "captured", second.body
    assert (await hold(shows, first.data["holdId"]))["state"] == "captured"
    done = await a.call("GET", goal_path)
    assert (done.data["state"], done.data["progress"]) == ("completed", 110)
    assert await earnings(creator) == (110 + 10) * 8 // 10
    assert_envelope(
        await a.call("POST", pledges, json={"amount": 5}, headers=key()), 404, "GOAL_NOT_FOUND"
    )

    again = await creator.call(
        "POST", goal_path, json={"title": "Next", "target": 1000, "mode": "pledge"}
    )
    assert again.status == 201
    kept = await a.call("POST", pledges, json={"amount": 30}, headers=key())
    assert kept.status == 201, kept.body
    assert (await balance(a))["held"] == 30
    cancelled = await creator.call("DELETE", goal_path)
    assert cancelled.status == 200 and cancelled.data["state"] == "cancelled"
    assert (await hold(shows, kept.data["holdId"]))["state"] == "released"
    wallet = await balance(a)
    assert (wallet["balance"], wallet["held"]) == (200 - 60, 0)
    await books_balance(shows)


async def test_a_stream_that_ended_without_its_hook_still_gives_pledges_back(shows, member):
    """A node that dies never runs the broadcast's end hook; its next start marks the stream
    ended (`end_all_on_node`) and the ledger worker releases the pledges."""
    creator, backer = await member(Role.CREATOR), await member()
    await fund(shows.ledger, backer.id, 100)
    stream = await live_stream(shows.pool, creator.id)
    goal_path = f"/api/v1/streams/{stream}/goal"
    made = await creator.call(
        "POST", goal_path, json={"title": "Crash", "target": 500, "mode": "pledge"}
    )
    assert made.status == 201, made.body
    pledged = await backer.call("POST", f"{goal_path}/pledges", json={"amount": 25}, headers=key())
    assert pledged.status == 201, pledged.body
    await ledger_pass(shows.ledger)  # the stream is live: nothing to do
    assert (await hold(shows, pledged.data["holdId"]))["state"] == "held"
    await shows.pool.execute(
        "UPDATE streams SET state = 'ended', ended_at = now() WHERE id = $1", stream
    )
    await ledger_pass(shows.ledger)
    assert (await hold(shows, pledged.data["holdId"]))["state"] == "released"
    assert (await creator.call("GET", goal_path)).data["state"] == "cancelled"
    assert (await balance(backer))["balance"] == 100
    await books_balance(shows)


# ---- profile tips ---------------------------------------------------------------------------


async def test_a_profile_tip_needs_no_stream(shows, member):
    creator, fan = await member(Role.CREATOR), await member()
    await fund(shows.ledger, fan.id, 100)
    path = f"/api/v1/users/{creator.handle}/tip"
    k = key()
    tipped = await fan.call("POST", path, json={"amount": 40, "message": "hi"}, headers=k)
    assert tipped.status == 201, tipped.body
    assert tipped.data["split"] == {"creator": 32, "platform": 8, "referral": 0}
    assert (tipped.data["balance"], tipped.data["creatorId"]) == (60, str(creator.id))
    replay = await fan.call("POST", path, json={"amount": 40, "message": "hi"}, headers=k)
    assert replay.status == 201 and replay.body == tipped.body
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert_envelope(
        await fan.call("POST", path, json={"amount": 41}, headers=k), 422, "IDEMPOTENCY_KEY_REUSED"
    )
    assert_envelope(
        await fan.call("POST", path, json={"amount": 40}), 400, "IDEMPOTENCY_KEY_REQUIRED"
    )
    assert_envelope(
        await fan.call("POST", path, json={"amount": 400}, headers=key()), 402, "INSUFFICIENT_FUNDS"
    )
    assert_envelope(
        await fan.call("POST", path, json={"amount": 0}, headers=key()), 422, "AMOUNT_OUT_OF_RANGE"
    )
    assert_envelope(
        await fan.call("POST", path, json={"amount": 10.0}, headers=key()), 422, "VALIDATION_ERROR"
    )
    assert_envelope(
        await creator.call("POST", path, json={"amount": 1}, headers=key()), 422, "CANNOT_TIP_SELF"
    )
    assert_envelope(
        await fan.call(
            "POST", "/api/v1/users/nobody_here_x/tip", json={"amount": 1}, headers=key()
        ),
        404,
        "USER_NOT_FOUND",
    )
    assert await earnings(creator) == 32
    assert (await balance(fan))["balance"] == 60
    await books_balance(shows)
