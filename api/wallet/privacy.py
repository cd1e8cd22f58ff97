"""Personal data of money: ledger accounts and their movements, purchases, tips given and
received, holds, referrals, idempotency keys, tip menus and paid shows (private shows,
ticket shows and tickets).

Financial records are kept for the statutory period (bookkeeping and tax law; 7 years in the
Netherlands): ledger accounts, transactions (a tip's memo keeps its message: the ledger is
append-only), holds, purchases, payment events, referrals and paid shows. Erasure deletes
what is not a record: idempotency keys (stored replies), tip menus, the private-show price,
and the provider's stored payment-method token of each purchase. The account's tokens are
left in its wallet: the books must keep balancing, and what happens to an erased account's
balance is a business rule (see README).
"""

from __future__ import annotations

import json
from typing import Any

from api.privacy.registry import REGISTRY, EraseContext, ExportContext, PersonalData, Retained

_REASON = "financial record (bookkeeping and tax retention)"


async def export(ctx: ExportContext) -> dict[str, Any]:
    conn, uid = ctx.conn, ctx.subject.user_id
    accounts = await conn.fetch(
        "SELECT id, kind, balance, created_at FROM ledger_accounts WHERE owner_id = $1 ORDER BY id",
        uid,
    )
    ids = [a["id"] for a in accounts]
    movements = await conn.fetch(
        "SELECT e.account_id, e.tx_id, e.amount, t.kind, t.created_at, t.stream_id, "
        "t.purchase_id, t.hold_id FROM ledger_entries e JOIN ledger_transactions t "
        "ON t.id = e.tx_id WHERE e.account_id = ANY($1::bigint[]) ORDER BY e.xid, e.tx_id",
        ids,
    )
    kinds = {a["id"]: a["kind"] for a in accounts}
    purchases = await conn.fetch(
        "SELECT id, package_id, tokens, price_minor, currency, provider, provider_ref, state, "
        "created_at, updated_at FROM purchases WHERE buyer_id = $1 ORDER BY created_at",
        uid,
    )
    given = await conn.fetch(
        "SELECT t.id, t.stream_id, t.memo, t.created_at, t.goal_id, t.menu_item_id, "
        "-(SELECT e.amount FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id "
        "  WHERE e.tx_id = t.id AND a.owner_id = $1 AND a.kind = 'wallet') AS amount "
        "FROM ledger_transactions t WHERE t.kind = 'tip' AND t.initiator_id = $1 ORDER BY t.id",
        uid,
    )
    # Tips received: what the user earned, never who sent them (other people's data).
    received = await conn.fetch(
        "SELECT t.id, t.stream_id, t.created_at, e.amount FROM ledger_transactions t "
        "JOIN ledger_entries e ON e.tx_id = t.id JOIN ledger_accounts a ON a.id = e.account_id "
        "WHERE t.kind = 'tip' AND a.owner_id = $1 AND a.kind = 'earnings' "
        "AND t.initiator_id IS DISTINCT FROM $1 ORDER BY t.id",
        uid,
    )
    holds = await conn.fetch(
        "SELECT id, purpose, amount, captured, state, expires_at, created_at, settled_at "
        "FROM ledger_holds WHERE owner_id = $1 ORDER BY created_at",
        uid,
    )
    menu = await conn.fetch(
        "SELECT id, label, price, position, active, created_at FROM tip_menu_items "
        "WHERE creator_id = $1 ORDER BY position",
        uid,
    )
    payouts = await conn.fetch(
        "SELECT id, amount, state, withheld, decided_at, created_at FROM payouts "
        "WHERE creator_id = $1 ORDER BY created_at",
        uid,
    )
    # Paid shows: the user's private shows (as viewer or creator), ticket shows and tickets.
    private_shows = await conn.fetch(
        "SELECT id, stream_id, price_per_minute, state, billed_minutes, charged, end_reason, "
        "created_at, started_at, ended_at, (creator_id = $1) AS as_creator FROM private_shows "
        "WHERE creator_id = $1 OR viewer_id = $1 ORDER BY created_at",
        uid,
    )
    ticket_shows = await conn.fetch(
        "SELECT id, stream_id, title, price, state, created_at, started_at, ended_at "
        "FROM ticket_shows WHERE creator_id = $1 ORDER BY created_at",
        uid,
    )
    tickets = await conn.fetch(
        "SELECT show_id, hold_id, created_at FROM show_tickets WHERE viewer_id = $1 "
        "ORDER BY created_at",
        uid,
    )
    price = await conn.fetchval(
        "SELECT private_per_minute FROM show_prices WHERE creator_id = $1", uid
    )
    return {
        "wallet.json": {
            "accounts": [
                {"kind": a["kind"], "maintainedBalance": a["balance"], "createdAt": a["created_at"]}
                for a in accounts
            ],
            "movements": [
                {
                    "account": kinds[m["account_id"]],
                    "transactionId": m["tx_id"],
                    "kind": m["kind"],
                    "amount": m["amount"],
                    "at": m["created_at"],
                    "streamId": m["stream_id"],
                    "purchaseId": m["purchase_id"],
                    "holdId": m["hold_id"],
                }
                for m in movements
            ],
            "holds": [dict(h) for h in holds],
        },
        "purchases.json": [
            {
                "id": p["id"],
                "packageId": p["package_id"],
                "tokens": p["tokens"],
                "priceMinor": p["price_minor"],
                "currency": p["currency"],
                "provider": p["provider"],
                "providerRef": p["provider_ref"],
                "state": p["state"],
                "createdAt": p["created_at"],
                "updatedAt": p["updated_at"],
            }
            for p in purchases
        ],
        "tips.json": {
            "given": [
                {
                    "transactionId": t["id"],
                    "streamId": t["stream_id"],
                    "amount": t["amount"],
                    "message": json.loads(t["memo"]).get("message"),
                    "goalId": t["goal_id"],
                    "menuItemId": t["menu_item_id"],
                    "at": t["created_at"],
                }
                for t in given
            ],
            "received": [
                {
                    "transactionId": t["id"],
                    "streamId": t["stream_id"],
                    "earned": t["amount"],
                    "at": t["created_at"],
                }
                for t in received
            ],
        },
        "tip_menu.json": [dict(m) for m in menu],
        "shows.json": {
            "privatePricePerMinute": price,
            "privateShows": [dict(r) for r in private_shows],
            "ticketShows": [dict(r) for r in ticket_shows],
            "tickets": [dict(r) for r in tickets],
        },
        "payouts.json": [
            {
                "id": p["id"],
                "amount": p["amount"],
                "state": p["state"],
                "withheld": p["withheld"],
                "decidedAt": p["decided_at"],
                "createdAt": p["created_at"],
            }
            for p in payouts
        ],
    }


async def erase(ctx: EraseContext) -> None:
    conn, uid = ctx.conn, ctx.subject.user_id
    await conn.execute("DELETE FROM idempotency_keys WHERE owner_id = $1", uid)
    await conn.execute("DELETE FROM tip_menu_items WHERE creator_id = $1", uid)
    await conn.execute("DELETE FROM show_prices WHERE creator_id = $1", uid)
    await conn.execute("UPDATE purchases SET payment_method = NULL WHERE buyer_id = $1", uid)


REGISTRY.register(
    PersonalData(
        name="wallet",
        tables=(
            "ledger_accounts",
            "ledger_transactions",
            "ledger_holds",
            "purchases",
            "payment_events",
            "affiliate_referrals",
            "idempotency_keys",
            "tip_menu_items",
            "payouts",
            "show_prices",
            "private_shows",
            "ticket_shows",
            "show_tickets",
        ),
        export=export,
        erase=erase,
        retained=(
            Retained("ledger_accounts", "owner_id = $1", _REASON),
            Retained(
                "ledger_transactions",
                "initiator_id = $1 OR memo->>'payee' = $1::text OR memo->>'referrer' = $1::text",
                _REASON,
            ),
            Retained("ledger_holds", "owner_id = $1 OR payee_id = $1", _REASON),
            Retained("purchases", "buyer_id = $1", _REASON),
            Retained(
                "payment_events",
                "purchase_id IN (SELECT id FROM purchases WHERE buyer_id = $1)",
                _REASON,
            ),
            Retained("affiliate_referrals", "referred_id = $1 OR referrer_id = $1", _REASON),
            Retained("payouts", "creator_id = $1 OR decided_by = $1", _REASON),
            # What a paid show billed, and to whom: the records behind its holds.
            Retained("private_shows", "creator_id = $1 OR viewer_id = $1", _REASON),
            Retained("ticket_shows", "creator_id = $1", _REASON),
            Retained("show_tickets", "viewer_id = $1", _REASON),
        ),
        order=30,
    )
)
