"""Chargebacks: the payment is taken back, so the purchase's tokens must leave circulation.

The rule (one database transaction, with the buyer's wallet row locked):

1. Tokens still in the wallet go first: up to the purchase's amount is debited from it.
2. The rest was spent. The buyer's spends made after the purchase (tips, subscription
   charges and hold captures)
   are reversed, newest first, until the rest is covered: each reversal is a new
   ``tip_reversal`` transaction linked to the spend (``reverses``) that takes the spend's
   split back (same fee schedule, cumulative rounding, so a spend is never reversed beyond its
   amount). The creator's and referrer's shares come out of their earnings as far as their
   balance goes; whatever their earnings cannot cover is taken from the platform's
   ``chargeback_reserve`` account; the platform's share comes out of platform revenue. A
   creator's earnings therefore never go negative.
3. Whatever is still not covered (tokens sitting in an open hold, or spends that cannot be
   reversed) becomes the buyer's debt: their ``receivable`` account goes negative by that
   much, never their wallet. Their next purchases settle the debt before crediting the wallet.

The ``chargeback`` transaction then posts wallet (step 1 plus the reversed tokens, which the
reversals returned to the wallet) and receivable (step 3) against ``sales``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from api.wallet import store
from api.wallet.accounts import AccountBook
from api.wallet.fees import reversal_split
from api.wallet.model import Account, AccountKind, Posting, TxKind
from api.wallet.purchases import get
from teezu.db import Connection


@dataclass
class Spend:
    tx_id: int
    amount: int
    reversed: int
    fee_schedule: str
    payee: uuid.UUID
    referrer: uuid.UUID | None

    @property
    def reversible(self) -> int:
        return self.amount - self.reversed


async def spends_since(conn: Connection, wallet: Account, after_tx: int) -> list[Spend]:
    """The buyer's tips, subscription charges and hold captures after transaction
    ``after_tx``, newest first."""
    rows = await conn.fetch(
        """
        SELECT t.id, t.fee_schedule, t.memo, -e.amount AS amount
        FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id
        WHERE e.account_id = $1 AND t.kind IN ('tip', 'subscription') AND t.id > $3
        UNION ALL
        SELECT t.id, t.fee_schedule, t.memo, h.captured
        FROM ledger_holds h JOIN ledger_transactions t
            ON t.hold_id = h.id AND t.kind = 'hold_capture'
        WHERE h.owner_id = $2 AND t.id > $3
        ORDER BY id DESC
        """,
        wallet.id,
        wallet.owner_id,
        after_tx,
    )
    spends = []
    for r in rows:
        reversed_ = await conn.fetchval(
            "SELECT coalesce(sum((memo->>'amount')::bigint), 0) FROM ledger_transactions "
            "WHERE reverses = $1 AND kind = 'tip_reversal'",
            r["id"],
        )
        memo = json.loads(r["memo"])
        spends.append(
            Spend(
                tx_id=r["id"],
                amount=int(r["amount"]),
                reversed=int(reversed_),
                fee_schedule=r["fee_schedule"],
                payee=uuid.UUID(memo["payee"]),
                referrer=uuid.UUID(memo["referrer"]) if memo.get("referrer") else None,
            )
        )
    return spends


async def chargeback(conn: Connection, book: AccountBook, purchase_id: uuid.UUID) -> str:
    """Apply a chargeback of a purchase (inside the caller's database transaction, which also
    records the webhook event). Returns ``applied`` or why nothing was done."""
    purchase = await get(conn, purchase_id, lock=True)
    if purchase is None:
        return "ignored: unknown purchase"
    if purchase.state != "confirmed":
        # pending/declined: no tokens were issued; refunded: the money already went back.
        return f"ignored: purchase is {purchase.state}"
    assert purchase.credit_tx is not None
    buyer = purchase.buyer_id
    wallet = await book.of(conn, AccountKind.WALLET, buyer)
    balance = await store.lock_wallet(conn, wallet)
    from_wallet = min(purchase.tokens, balance)
    rest = purchase.tokens - from_wallet

    plan: list[tuple[Spend, int]] = []
    if rest > 0:
        for spend in await spends_since(conn, wallet, purchase.credit_tx):
            take = min(rest, spend.reversible)
            if take > 0:
                plan.append((spend, take))
                rest -= take
            if rest == 0:
                break

    # Lock every earnings account we take from, in id order (no deadlock between two
    # chargebacks), then read what each can give.
    earners = {p for s, _ in plan for p in (s.payee, s.referrer) if p is not None}
    earnings = {u: await book.of(conn, AccountKind.EARNINGS, u) for u in earners}
    available: dict[int, int] = {}
    for account in sorted(earnings.values(), key=lambda a: a.id):
        await store.lock_account(conn, account)
        available[account.id] = await store.balance(conn, account)

    platform = await book.system(conn, AccountKind.PLATFORM)
    reserve = await book.system(conn, AccountKind.CHARGEBACK_RESERVE)
    reversed_total = 0
    for spend, take in plan:
        schedule = await book.schedule(conn, spend.fee_schedule)
        shares = reversal_split(
            spend.amount, spend.reversed, take, schedule, referred=spend.referrer is not None
        )
        postings = [Posting(wallet, take), Posting(platform, -shares.platform)]
        from_reserve = 0
        for user, share in ((spend.payee, shares.creator), (spend.referrer, shares.referral)):
            if user is None or share == 0:
                continue
            account = earnings[user]
            covered = max(0, min(share, available[account.id]))
            available[account.id] -= covered
            from_reserve += share - covered
            postings.append(Posting(account, -covered))
        postings.append(Posting(reserve, -from_reserve))
        await store.post(
            conn,
            TxKind.TIP_REVERSAL,
            postings,
            initiator_id=buyer,
            fee_schedule=spend.fee_schedule,
            reverses=spend.tx_id,
            purchase_id=purchase.id,
            memo={"amount": take, "fromReserve": from_reserve, "chargebackOf": str(purchase.id)},
        )
        reversed_total += take

    postings = [
        Posting(await book.system(conn, AccountKind.SALES), purchase.tokens),
        Posting(wallet, -(from_wallet + reversed_total)),
    ]
    if rest:
        postings.append(Posting(await book.of(conn, AccountKind.RECEIVABLE, buyer), -rest))
    tx_id = await store.post(
        conn,
        TxKind.CHARGEBACK,
        postings,
        initiator_id=buyer,
        purchase_id=purchase.id,
        reverses=purchase.credit_tx,
        memo={"fromWallet": from_wallet, "reversed": reversed_total, "debt": rest},
    )
    await conn.execute(
        "UPDATE purchases SET state = 'charged_back', reversal_tx = $2, updated_at = now() "
        "WHERE id = $1",
        purchase.id,
        tx_id,
    )
    return "applied"
