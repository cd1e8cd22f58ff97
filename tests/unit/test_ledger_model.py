"""Invariant 2 in code: `balanced` refuses anything but >= 2 integer entries summing to 0."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.wallet.errors import UnbalancedTransaction
from api.wallet.model import Account, AccountKind, Posting, balanced

ROOT = Path(__file__).resolve().parents[2]
WALLET = Account(1, AccountKind.WALLET)
CREATOR = Account(2, AccountKind.EARNINGS)
PLATFORM = Account(3, AccountKind.PLATFORM)


def test_a_balanced_transaction_passes_and_merges_per_account():
    out = balanced(
        [Posting(WALLET, -10), Posting(CREATOR, 8), Posting(PLATFORM, 1), Posting(PLATFORM, 1)]
    )
    assert sorted((p.account.id, p.amount) for p in out) == [(1, -10), (2, 8), (3, 2)]


@pytest.mark.parametrize(
    "postings",
    [
        [],
        [Posting(WALLET, 0), Posting(CREATOR, 0)],  # zero entries drop out: nothing left
        [Posting(WALLET, -10), Posting(WALLET, 10)],  # cancels out on one account
        [Posting(WALLET, -10), Posting(CREATOR, 9)],  # debits != credits
        [Posting(WALLET, -10), Posting(CREATOR, 10.0)],  # a float amount
        [Posting(WALLET, -1), Posting(CREATOR, True)],  # a bool is not a token count
    ],
)
def test_invalid_transactions_are_refused(postings):
    with pytest.raises(UnbalancedTransaction):
        balanced(postings)


@given(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=10))
def test_any_amounts_plus_their_counter_entry_balance(amounts):
    postings = [Posting(Account(i + 10, AccountKind.EARNINGS), a) for i, a in enumerate(amounts)]
    postings.append(Posting(WALLET, -sum(amounts)))
    if sum(1 for p in postings if p.amount) < 2:
        with pytest.raises(UnbalancedTransaction):
            balanced(postings)
    else:
        assert sum(p.amount for p in balanced(postings)) == 0


def _float_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and type(node.value) is float:
            found.append(f"{path.name}:{node.lineno}: float literal {node.value!r}")
        elif isinstance(node, ast.Name) and node.id in ("float", "Decimal"):
            found.append(f"{path.name}:{node.lineno}: {node.id}")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append(f"{path.name}:{node.lineno}: true division (use //)")
    return found


def test_no_floats_in_money_paths():
    """Invariant 1: the wallet package never makes a float (no literals, no float(), no /);
    the ledger's SQL uses integer columns only."""
    # sandbox.py (the payment network's stand-in) and events.py (what the room is told) move no
    # tokens: their only non-integer numbers are delays.
    timing_only = {"sandbox.py", "events.py"}
    code = sorted(p for p in (ROOT / "api" / "wallet").glob("*.py") if p.name not in timing_only)
    assert code
    problems = [p for path in code for p in _float_uses(path)]
    assert problems == []
    for sql in ("0030_ledger.sql", "0031_payments.sql"):
        text = (ROOT / "teezu" / "migrations" / sql).read_text().lower()
        code_only = re.sub(r"--[^\n]*", "", text)
        assert re.findall(r"\b(real|double precision|float[48]?|money)\b", code_only) == [], sql
