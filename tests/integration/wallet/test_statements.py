"""Creator statements over HTTP: every line reconciles to a ledger entry, the lines sum from
the opening balance to the closing one, adjacent periods chain, the CSV export says the same;
and a viewer's wallet history shows every kind of movement."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from api.auth.rbac import Role
from api.wallet import xid_clock
from api.wallet.check import check_books
from api.wallet.maturity import MaturityPolicy
from api.wallet.model import AccountKind, HoldPurpose, IdempotencyKey
from api.wallet.payouts import earnings_view
from api.wallet.statements import statement as read_statement
from api.wallet.tips import TipRequest
from tests.accounts import Client
from tests.integration.wallet.conftest import (
    WalletServer,
    assert_envelope,
    earn,
    fund,
    live_stream,
    make_old,
    request,
    shift,
)


async def statement(acct: Client, start: datetime, end: datetime, fmt: str = "json") -> Any:
    reply = await acct.call(
        "GET",
        "/api/v1/creators/me/statement",
        params={"from": start.isoformat(), "to": end.isoformat(), "format": fmt},
    )
    assert reply.status == 200, reply.body
    return reply


async def ledger_entries(
    server: WalletServer, user: uuid.UUID, start: datetime, end: datetime
) -> dict[int, int]:
    """The creator's earnings entries in [start, end), straight from the ledger."""
    rows = await server.pool.fetch(
        "SELECT e.tx_id, e.amount FROM ledger_entries e "
        "JOIN ledger_transactions t ON t.id = e.tx_id "
        "JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE a.kind = 'earnings' AND a.owner_id = $1 "
        "AND t.created_at >= $2 AND t.created_at < $3",
        user,
        start,
        end,
    )
    return {r["tx_id"]: r["amount"] for r in rows}


async def test_a_statement_reconciles_to_the_ledger(wallet_server, member, payouts):
    server = wallet_server
    admin = await member(Role.ADMIN)
    creator = await member(Role.CREATOR)
    await make_old(server, creator.id, 200)
    start = datetime.now(UTC) - timedelta(seconds=1)
    await earn(server, creator.id, 400)  # tip
    viewer = uuid.uuid4()
    await fund(server.ledger, viewer, 250)
    held = await server.ledger.reserve(
        IdempotencyKey(viewer, uuid.uuid4().hex),
        amount=250,
        purpose=HoldPurpose.PRIVATE_SHOW,
        ttl_seconds=600,
        payee_id=creator.id,
    )
    captured = await server.ledger.capture(uuid.UUID(held.data["holdId"]), 250)
    assert captured.ok
    charged = await earn(server, creator.id, 80)
    async with server.pool.acquire() as conn, conn.transaction():
        assert await server.ledger.charge_back(conn, charged) == "applied"
    shift(payouts, 8)
    paid = (await request(creator, 300)).data["payout"]
    back = (await request(creator, 100)).data["payout"]
    for path in (f"{paid['id']}/approve", f"{back['id']}/reject"):
        assert (await admin.call("POST", f"/api/v1/admin/payouts/{path}", json={})).status == 200
    end = datetime.now(UTC) + timedelta(minutes=1)

    whole = (await statement(creator, start, end)).data
    lines = whole["lines"]
    assert whole["openingBalance"] == 0
    assert {line["kind"] for line in lines} == {
        "tip",
        "hold_capture",
        "tip_reversal",
        "payout_reserve",
        "payout_release",
    }
    assert (
        whole["openingBalance"] + sum(line["amount"] for line in lines) == (whole["closingBalance"])
    )
    assert whole["closingBalance"] == 400 + 200 + 80 - 80 - 300 - 100 + 100
    assert whole["closingBalance"] == (await server.ledger.earnings(creator.id))
    # Every line is one ledger entry of the creator's earnings, and every entry is a line.
    assert {line["transactionId"]: line["amount"] for line in lines} == await ledger_entries(
        server, creator.id, start, end
    )
    running = whole["openingBalance"]
    for line in lines:
        running += line["amount"]
        assert line["balanceAfter"] == running
    by_payout = {line["payoutId"] for line in lines if line["kind"].startswith("payout")}
    assert by_payout == {paid["id"], back["id"]}
    assert whole["totals"]["payout_reserve"] == -400

    # Two adjacent periods chain: the first's closing balance is the second's opening one.
    mid = datetime.fromisoformat(lines[2]["createdAt"])
    before = (await statement(creator, start, mid)).data
    after = (await statement(creator, mid, end)).data
    assert before["closingBalance"] == after["openingBalance"]
    assert after["closingBalance"] == whole["closingBalance"]
    assert [x["transactionId"] for x in before["lines"] + after["lines"]] == [
        x["transactionId"] for x in lines
    ]
    assert sum(x["amount"] for x in before["lines"]) == sum(
        (await ledger_entries(server, creator.id, start, mid)).values()
    )

    exported = await statement(creator, start, end, "csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.body.decode())))
    assert rows[0]["kind"] == "opening_balance" and int(rows[0]["balance_after"]) == 0
    assert rows[-1]["kind"] == "closing_balance"
    assert int(rows[-1]["balance_after"]) == whole["closingBalance"]
    assert [(int(r["transaction_id"]), int(r["amount"])) for r in rows[1:-1]] == [
        (x["transactionId"], x["amount"]) for x in lines
    ]
    report = await check_books(server.pool)
    assert report.ok, report.problems


async def test_statement_refusals_and_empty_statements(wallet_server, member):
    creator = await member(Role.CREATOR)
    now = datetime.now(UTC)
    backwards = await creator.call(
        "GET",
        "/api/v1/creators/me/statement",
        params={"from": now.isoformat(), "to": (now - timedelta(days=1)).isoformat()},
    )
    assert_envelope(backwards, 422, "INVALID_PERIOD")
    bad = await creator.call("GET", "/api/v1/creators/me/statement", params={"format": "xml"})
    assert_envelope(bad, 422, "VALIDATION_ERROR")
    garbage = await creator.call("GET", "/api/v1/creators/me/statement", params={"from": "soon"})
    assert_envelope(garbage, 422, "VALIDATION_ERROR")
    viewer = await member()  # no earnings account at all
    empty = await viewer.call("GET", "/api/v1/creators/me/statement")
    assert empty.status == 200
    assert (empty.data["openingBalance"], empty.data["closingBalance"], empty.data["lines"]) == (
        0,
        0,
        [],
    )


async def test_wallet_history_shows_every_kind_of_movement(wallet_server, member):
    server = wallet_server
    viewer = await member()
    creator = uuid.uuid4()
    stream = await live_stream(server.pool, creator)
    ledger = server.ledger
    # A tip paid with a purchase that is then charged back: the tip is reversed.
    spent = await fund(ledger, viewer.id, 100)
    assert (await ledger.tip(IdempotencyKey(viewer.id, "h-tip0"), TipRequest(stream, 100))).ok
    async with server.pool.acquire() as conn, conn.transaction():
        assert await ledger.charge_back(conn, spent) == "applied"
    await fund(ledger, viewer.id, 500)
    assert (await ledger.tip(IdempotencyKey(viewer.id, "h-tip"), TipRequest(stream, 300))).ok
    show = await ledger.reserve(
        IdempotencyKey(viewer.id, "h-show"),
        amount=100,
        purpose=HoldPurpose.PRIVATE_SHOW,
        ttl_seconds=600,
        payee_id=creator,
    )
    await ledger.capture(uuid.UUID(show.data["holdId"]), 60)
    pledge = await ledger.reserve(
        IdempotencyKey(viewer.id, "h-pledge"),
        amount=50,
        purpose=HoldPurpose.PLEDGE,
        ttl_seconds=600,
        payee_id=creator,
    )
    await ledger.release(uuid.UUID(pledge.data["holdId"]))
    refundable = await fund(ledger, viewer.id, 40)
    await ledger.refund(refundable)

    lines: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = await viewer.call("GET", "/api/v1/wallet/history", params=params)
        assert page.status == 200, page.body
        lines += page.data
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    assert {line["kind"] for line in lines} == {
        "purchase",
        "tip",
        "hold_reserve",
        "hold_capture",
        "hold_release",
        "chargeback",
        "tip_reversal",
        "refund",
    }
    balance = (await viewer.call("GET", "/api/v1/wallet/balance")).data["balance"]
    assert sum(line["amount"] for line in lines) == balance
    report = await check_books(server.pool)
    assert report.ok, report.problems


async def test_xid_checkpoints_bound_the_scans_without_changing_results(wallet_server, payouts):
    """Immature earnings and statements read only entries from the time -> xid checkpoint
    before their moment on; with checkpoints between the earnings, every answer equals the
    full scan's."""
    server = wallet_server
    creator = uuid.uuid4()
    await earn(server, creator, 400)
    assert await xid_clock.checkpoint(server.pool, every_seconds=0)
    await earn(server, creator, 200)
    assert await xid_clock.checkpoint(server.pool, every_seconds=0)
    await earn(server, creator, 80)
    account = await server.ledger.book.find(server.pool, AccountKind.EARNINGS, creator)
    assert account is not None
    moments = [
        r["created_at"]
        for r in await server.pool.fetch(
            "SELECT t.created_at FROM ledger_entries e JOIN ledger_transactions t "
            "ON t.id = e.tx_id WHERE e.account_id = $1 ORDER BY t.created_at",
            account.id,
        )
    ]
    moments += [r["at"] for r in await server.pool.fetch("SELECT at FROM ledger_xid_clock")]
    tiny = timedelta(microseconds=1)
    probes = sorted({m + d for m in moments for d in (-tiny, timedelta(0), tiny)})
    policy = MaturityPolicy(0, 0, 0)  # cutoff = now: probe every moment directly
    for at in probes:
        view = await earnings_view(server.pool, account, policy, at)
        full = await server.pool.fetchval(
            "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_transactions t "
            "ON t.id = e.tx_id WHERE e.account_id = $1 AND e.amount > 0 AND t.created_at > $2",
            account.id,
            at,
        )
        assert view.immature == full, at
        found = await read_statement(server.pool, account, at, at + timedelta(days=1), max_lines=99)
        before = await server.pool.fetchval(
            "SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_transactions t "
            "ON t.id = e.tx_id WHERE e.account_id = $1 AND t.created_at < $2",
            account.id,
            at,
        )
        assert (found.opening, found.closing) == (before, 680), at
        assert sum(line.amount for line in found.lines) == 680 - before
    # The later probes really were answered from a checkpoint, not from the whole history.
    assert await xid_clock.xid_floor(server.pool, probes[-1]) > 0
