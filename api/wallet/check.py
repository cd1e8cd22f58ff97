"""Reconciliation (invariant 10, and the proof of invariant 4): does every book agree?

`check_books` reads the whole ledger in one REPEATABLE READ snapshot and reports:

* the books sum to zero, and every transaction has >= 2 entries summing to zero;
* every wallet's maintained balance equals the sum of its entries, and none is negative;
* every roll-up equals the sum of the entries it covers;
* escrow equals the tokens of open holds; receivables (debts) are never positive;
* tokens outstanding (wallets + escrow + receivables) = bought - spent - refunded, where
  bought and refunded are read from the sales account's side of purchases, refunds and
  chargebacks, and spent from the payees' side of tips, captures, subscription and membership
  charges and their reversals: the two
  sides of the identity come from different entries, so a transaction that creates or
  destroys tokens shows up as a difference;
* the purchases table agrees with the ledger (tokens of credited purchases = bought);
* the earned side: spent = earnings + platform + chargeback reserve + pending payouts + paid
  out. Payouts move tokens from earnings to ``payouts_pending`` and on approval to
  ``payouts_paid`` (and the withheld share to the reserve): paid-out tokens have left the
  system (the creator was paid outside it), so they are part of what was spent but of no
  balance anyone holds; they never count as outstanding;
* ``payouts_pending`` equals the pending payouts, ``payouts_paid`` the approved payouts less
  their withheld shares, and no earnings account is negative.

``teezu ledger check`` prints the report and exits non-zero on any problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg


@dataclass
class BooksReport:
    entries: int = 0
    transactions: int = 0
    books_total: int = 0
    outstanding: int = 0
    bought: int = 0
    spent: int = 0
    refunded: int = 0
    paid_out: int = 0
    wallets: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [
            f"transactions:        {self.transactions}",
            f"entries:             {self.entries}",
            f"books total:         {self.books_total} (must be 0)",
            f"wallets:             {self.wallets}",
            f"tokens outstanding:  {self.outstanding}",
            f"bought:              {self.bought}",
            f"spent:               {self.spent}",
            f"refunded:            {self.refunded}",
            f"bought - spent - refunded = {self.bought - self.spent - self.refunded}",
            f"paid out:            {self.paid_out} (left the system; part of spent)",
        ]
        if self.ok:
            out.append("OK: the books balance")
        else:
            out += [f"PROBLEM: {p}" for p in self.problems]
        return out


_LIMIT = 20  # problems listed per kind


async def check_books(pool: asyncpg.Pool) -> BooksReport:
    """Reconcile the whole ledger (see the module docstring); never raises on a difference."""
    report = BooksReport()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(amount), 0) AS total FROM ledger_entries"
        )
        assert totals is not None  # the query always returns a row
        report.entries, report.books_total = totals["n"], int(totals["total"])
        report.transactions = await conn.fetchval("SELECT count(*) FROM ledger_transactions")
        if report.books_total != 0:
            report.problems.append(f"the books sum to {report.books_total}, not 0")

        for r in await conn.fetch(
            "SELECT t.id, t.kind, count(e.tx_id) AS n, coalesce(sum(e.amount), 0) AS total "
            "FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.tx_id = t.id "
            "GROUP BY t.id HAVING count(e.tx_id) < 2 OR coalesce(sum(e.amount), 0) <> 0 "
            f"ORDER BY t.id LIMIT {_LIMIT}"
        ):
            report.problems.append(
                f"transaction {r['id']} ({r['kind']}) has {r['n']} entries summing to {r['total']}"
            )

        wallets = await conn.fetch(
            "SELECT a.id, a.owner_id, a.balance, coalesce(s.total, 0) AS total "
            "FROM ledger_accounts a LEFT JOIN ("
            "  SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id"
            ") s ON s.account_id = a.id WHERE a.kind = 'wallet'"
        )
        report.wallets = len(wallets)
        bad = [w for w in wallets if w["balance"] != w["total"]]
        for w in bad[:_LIMIT]:
            report.problems.append(
                f"wallet {w['id']} (user {w['owner_id']}) shows {w['balance']} but its entries "
                f"sum to {w['total']}"
            )
        for w in [w for w in wallets if w["balance"] < 0 or w["total"] < 0][:_LIMIT]:
            report.problems.append(f"wallet {w['id']} is negative ({w['balance']}/{w['total']})")

        for r in await conn.fetch(
            "SELECT r.account_id, r.balance, coalesce((SELECT sum(e.amount) FROM ledger_entries e "
            "WHERE e.account_id = r.account_id AND e.xid < r.through_xid), 0) AS total "
            "FROM ledger_rollups r"
        ):
            if r["balance"] != r["total"]:
                report.problems.append(
                    f"roll-up of account {r['account_id']} is {r['balance']} but its entries "
                    f"sum to {r['total']}"
                )

        by_kind = {
            r["kind"]: int(r["total"])
            for r in await conn.fetch(
                "SELECT a.kind, coalesce(sum(e.amount), 0) AS total FROM ledger_accounts a "
                "LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.kind"
            )
        }
        held = await conn.fetchval(
            "SELECT coalesce(sum(amount), 0) FROM ledger_holds WHERE state = 'held'"
        )
        if by_kind.get("escrow", 0) != held:
            report.problems.append(
                f"escrow holds {by_kind.get('escrow', 0)} tokens but open holds total {held}"
            )
        for r in await conn.fetch(
            "SELECT a.id, a.owner_id, sum(e.amount) AS total FROM ledger_accounts a "
            "JOIN ledger_entries e ON e.account_id = a.id WHERE a.kind = 'receivable' "
            f"GROUP BY a.id HAVING sum(e.amount) > 0 LIMIT {_LIMIT}"
        ):
            report.problems.append(f"receivable {r['id']} (user {r['owner_id']}) is positive")

        flows = {
            (r["tx_kind"], r["account_kind"]): int(r["total"])
            for r in await conn.fetch(
                "SELECT t.kind AS tx_kind, a.kind AS account_kind, sum(e.amount) AS total "
                "FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id "
                "JOIN ledger_accounts a ON a.id = e.account_id GROUP BY t.kind, a.kind"
            )
        }
        report.outstanding = sum(by_kind.get(k, 0) for k in ("wallet", "escrow", "receivable"))
        report.bought = -flows.get(("purchase", "sales"), 0)
        report.refunded = flows.get(("refund", "sales"), 0) + flows.get(("chargeback", "sales"), 0)
        report.spent = sum(
            total
            for (tx_kind, account_kind), total in flows.items()
            if tx_kind in ("tip", "hold_capture", "tip_reversal", "subscription", "membership")
            and account_kind in ("earnings", "platform", "chargeback_reserve")
        )
        expected = report.bought - report.spent - report.refunded
        if report.outstanding != expected:
            report.problems.append(
                f"tokens outstanding {report.outstanding} != bought - spent - refunded {expected} "
                f"(difference {report.outstanding - expected})"
            )

        earned_kinds = ("earnings", "platform", "chargeback_reserve")
        earned = sum(by_kind.get(k, 0) for k in (*earned_kinds, "payouts_pending", "payouts_paid"))
        if earned != report.spent:
            report.problems.append(
                f"earnings + platform + reserve + payouts {earned} != spent {report.spent} "
                f"(difference {earned - report.spent})"
            )
        report.paid_out = by_kind.get("payouts_paid", 0)
        payouts = await conn.fetchrow(
            "SELECT coalesce(sum(amount) FILTER (WHERE state = 'pending'), 0) AS pending, "
            "coalesce(sum(amount - withheld) FILTER (WHERE state = 'approved'), 0) AS paid "
            "FROM payouts"
        )
        assert payouts is not None  # the query always returns a row
        if by_kind.get("payouts_pending", 0) != payouts["pending"]:
            report.problems.append(
                f"payouts_pending holds {by_kind.get('payouts_pending', 0)} tokens but pending "
                f"payouts total {payouts['pending']}"
            )
        if report.paid_out != payouts["paid"]:
            report.problems.append(
                f"payouts_paid holds {report.paid_out} tokens but approved payouts (less their "
                f"withheld shares) total {payouts['paid']}"
            )
        for r in await conn.fetch(
            "SELECT a.id, a.owner_id, sum(e.amount) AS total FROM ledger_accounts a "
            "JOIN ledger_entries e ON e.account_id = a.id WHERE a.kind = 'earnings' "
            f"GROUP BY a.id HAVING sum(e.amount) < 0 LIMIT {_LIMIT}"
        ):
            report.problems.append(
                f"earnings {r['id']} (user {r['owner_id']}) is negative ({r['total']})"
            )

        credited = await conn.fetchval(
            "SELECT coalesce(sum(tokens), 0) FROM purchases "
            "WHERE state IN ('confirmed', 'refunded', 'charged_back')"
        )
        if credited != report.bought:
            report.problems.append(
                f"purchases credited {credited} tokens but the ledger shows {report.bought} bought"
            )
    return report
