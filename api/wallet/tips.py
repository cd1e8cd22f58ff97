"""A tip to a live stream: one SQL statement, one round trip, one database transaction.

The statement (data-modifying CTEs) debits the viewer's wallet with a conditional UPDATE
(``balance >= amount``: invariant 5 without check-then-act), records the transaction and its
entries (viewer, creator, platform, referrer: invariant 8, under the schedule version recorded
on the transaction), and stores the outcome under the caller's idempotency key (invariant 6).

The hot account: a popular creator receives thousands of tips a second. No tip locks or
updates the creator's row (or the platform's): their balances are derived from entries (see
`api.wallet.rollup`), so tips to one creator from different viewers never wait for each other.
The only row a tip updates is the tipper's own wallet.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from api.wallet import idempotency, menus
from api.wallet.accounts import AccountBook
from api.wallet.errors import (
    CreatorNotPayable,
    MenuPriceChanged,
    SelfTip,
    StreamNotFound,
    UnknownItem,
)
from api.wallet.fees import split
from api.wallet.model import (
    AccountKind,
    IdempotencyKey,
    Outcome,
    Posting,
    array_literals,
    balanced,
)
from api.wallet.streams import FROZEN_CREATOR, refuse_if_frozen

OPERATION = "tip"

_TIP = f"""
WITH stream AS (
    SELECT s.state, (coalesce(f.frozen, false)
        OR {FROZEN_CREATOR.format(creator="s.creator_id")}) AS frozen
    FROM streams s LEFT JOIN stream_safety f ON f.stream_id = s.id WHERE s.id = $6
), goal AS (
    SELECT id FROM stream_goals WHERE stream_id = $6 AND state = 'open' AND mode = 'tips'
), debit AS (
    UPDATE ledger_accounts SET balance = balance - $5
    WHERE id = $4 AND balance >= $5 AND (SELECT state FROM stream) = 'live'
        AND NOT (SELECT frozen FROM stream)
    RETURNING balance
), tx AS (
    INSERT INTO ledger_transactions
        (kind, initiator_id, fee_schedule, stream_id, memo, goal_id, menu_item_id)
    SELECT 'tip', $1, $9, $6, $12::jsonb, (SELECT id FROM goal), $13 FROM debit
    RETURNING id, created_at, goal_id
), entries AS (
    INSERT INTO ledger_entries (tx_id, account_id, amount)
    SELECT tx.id, p.account_id, p.amount
    FROM tx, unnest($7::text::bigint[], $8::text::bigint[]) AS p(account_id, amount)
), outcome AS (
    SELECT CASE
        WHEN tx.id IS NOT NULL THEN jsonb_build_object(
            'error', NULL, 'requestId', NULL, 'data', $10::jsonb || jsonb_build_object(
                'tipId', tx.id, 'balance', debit.balance, 'createdAt', tx.created_at,
                'goalId', tx.goal_id))
        WHEN (SELECT state FROM stream) IS DISTINCT FROM 'live' THEN jsonb_build_object(
            'error', 'STREAM_NOT_LIVE', 'requestId', $11::text,
            'data', jsonb_build_object('streamId', $6::uuid))
        WHEN (SELECT frozen FROM stream) THEN jsonb_build_object(
            'error', 'STREAM_FROZEN', 'requestId', $11::text,
            'data', jsonb_build_object('streamId', $6::uuid))
        ELSE jsonb_build_object(
            'error', 'INSUFFICIENT_FUNDS', 'requestId', $11::text,
            'data', jsonb_build_object('amount', $5::bigint,
                'balance', (SELECT balance FROM ledger_accounts WHERE id = $4)))
    END AS result
    FROM (SELECT 1) AS one LEFT JOIN tx ON true LEFT JOIN debit ON true
), saved AS (
    INSERT INTO idempotency_keys (owner_id, key, operation, request_hash, result)
    SELECT $1, $2, 'tip', $3, result FROM outcome
)
SELECT result FROM outcome
"""


# A tip to a creator's profile: the same statement without the stream (no live check, no goal).
_PROFILE_TIP = """
WITH debit AS (
    UPDATE ledger_accounts SET balance = balance - $5
    WHERE id = $4 AND balance >= $5
    RETURNING balance
), tx AS (
    INSERT INTO ledger_transactions (kind, initiator_id, fee_schedule, memo)
    SELECT 'tip', $1, $8, $11::jsonb FROM debit
    RETURNING id, created_at
), entries AS (
    INSERT INTO ledger_entries (tx_id, account_id, amount)
    SELECT tx.id, p.account_id, p.amount
    FROM tx, unnest($6::text::bigint[], $7::text::bigint[]) AS p(account_id, amount)
), outcome AS (
    SELECT CASE
        WHEN tx.id IS NOT NULL THEN jsonb_build_object(
            'error', NULL, 'requestId', NULL, 'data', $9::jsonb || jsonb_build_object(
                'tipId', tx.id, 'balance', debit.balance, 'createdAt', tx.created_at))
        ELSE jsonb_build_object(
            'error', 'INSUFFICIENT_FUNDS', 'requestId', $10::text,
            'data', jsonb_build_object('amount', $5::bigint,
                'balance', (SELECT balance FROM ledger_accounts WHERE id = $4)))
    END AS result
    FROM (SELECT 1) AS one LEFT JOIN tx ON true LEFT JOIN debit ON true
), saved AS (
    INSERT INTO idempotency_keys (owner_id, key, operation, request_hash, result)
    SELECT $1, $2, 'profile_tip', $3, result FROM outcome
)
SELECT result FROM outcome
"""
PROFILE_OPERATION = "profile_tip"


@dataclass(frozen=True, slots=True)
class TipRequest:
    stream_id: uuid.UUID
    amount: int
    message: str | None = None
    menu_item_id: uuid.UUID | None = None  # a tip-menu action; ``amount`` must be its price
    # What the tip came from and what it sets off (the product's ``stream_tips``: tip_source,
    # trigger_action), e.g. ``poll`` / ``poll:<id>:<option>``; kept in the memo (migration 0142's
    # ``stream_tips`` view reads them). None: a plain tip (``direct``, or ``menu`` with an item).
    source: str | None = None
    action: str | None = None

    def fingerprint(self) -> bytes:
        fields: dict[str, Any] = {
            "stream": str(self.stream_id),
            "amount": self.amount,
            "message": self.message,
            "menu": str(self.menu_item_id) if self.menu_item_id else None,
        }
        if self.source is not None or self.action is not None:  # old keys keep their hash
            fields |= {"source": self.source, "action": self.action}
        return idempotency.request_hash(OPERATION, fields)


@dataclass(frozen=True, slots=True)
class PreparedTip:
    """A tip checked and split, ready for its statement: everything the database needs."""

    key: IdempotencyKey
    fingerprint: bytes
    wallet_id: int
    amount: int
    stream_id: uuid.UUID
    entries: list[Posting]
    fee_schedule: str
    receipt: str  # JSON: the success data, before the database adds tipId/balance/createdAt
    memo: str  # JSON
    menu_item_id: uuid.UUID | None
    request_id: str | None


async def prepare(
    pool: asyncpg.Pool,
    book: AccountBook,
    key: IdempotencyKey,
    request: TipRequest,
    *,
    request_id: str | None = None,
) -> PreparedTip:
    """Check a tip and work out its split (reads cached account ids; writes nothing).

    Raises `StreamNotFound`, `CreatorNotPayable`, `SelfTip`, `UnknownItem` and
    `MenuPriceChanged`: refusals that are not stored with the key.
    """
    viewer = key.owner_id
    exists, creator = await book.payee_of_stream(pool, request.stream_id)
    if not exists:
        raise StreamNotFound("no such stream", meta={"streamId": str(request.stream_id)})
    if creator is None:
        raise CreatorNotPayable("this stream's creator cannot receive tokens yet")
    if creator == viewer:
        raise SelfTip("creators cannot tip their own stream")
    menu_item = None
    if request.menu_item_id is not None:
        # Read fresh (not cached): the viewer must pay the price they were shown, no other.
        menu_item = await menus.get(pool, request.menu_item_id)
        if menu_item is None or not menu_item.active or menu_item.creator_id != creator:
            raise UnknownItem(
                "no such item on this creator's tip menu",
                meta={"menuItemId": str(request.menu_item_id)},
            )
        if menu_item.price != request.amount:
            raise MenuPriceChanged(
                "the item's price is not the amount sent",
                meta={"price": menu_item.price, "amount": request.amount},
            )
    schedule = await book.current_schedule(pool)
    referrer = await book.referrer_of(pool, creator)
    shares = split(request.amount, schedule, referred=referrer is not None)
    wallet = await book.of(pool, AccountKind.WALLET, viewer)
    postings = [
        Posting(wallet, -request.amount),
        Posting(await book.of(pool, AccountKind.EARNINGS, creator), shares.creator),
        Posting(await book.system(pool, AccountKind.PLATFORM), shares.platform),
    ]
    if referrer is not None:
        postings.append(
            Posting(await book.of(pool, AccountKind.EARNINGS, referrer), shares.referral)
        )
    receipt = {
        "streamId": str(request.stream_id),
        "amount": request.amount,
        "message": request.message,
        "menuItem": {"id": str(menu_item.id), "label": menu_item.label} if menu_item else None,
        "feeSchedule": schedule.version,
        "split": {
            "creator": shares.creator,
            "platform": shares.platform,
            "referral": shares.referral,
        },
    }
    memo = {"payee": str(creator), "referrer": str(referrer) if referrer else None}
    if request.message:
        memo["message"] = request.message
    # The tip's source and what it sets off (the ``stream_tips`` view reads them): the
    # caller's (a poll vote), else the menu item's (a quick prompt or a menu action).
    source = request.source or (menu_item.kind if menu_item else None)
    action = request.action or (menu_item.trigger_action if menu_item else None)
    if source:
        memo["tipSource"] = source
    if action:
        memo["triggerAction"] = action
    return PreparedTip(
        key=key,
        fingerprint=request.fingerprint(),
        wallet_id=wallet.id,
        amount=request.amount,
        stream_id=request.stream_id,
        entries=balanced(postings),
        fee_schedule=schedule.version,
        receipt=json.dumps(receipt),
        memo=json.dumps(memo),
        menu_item_id=request.menu_item_id,
        request_id=request_id,
    )


async def execute(pool: asyncpg.Pool, tip: PreparedTip) -> Outcome:
    """Commit one prepared tip in its own database transaction (or replay its key).

    Returns the stored outcome: success (``data.tipId``, new ``balance``, the split, the
    stream's open ``goalId`` the tip counts towards) or the error ``INSUFFICIENT_FUNDS`` /
    ``STREAM_NOT_LIVE`` / ``STREAM_FROZEN`` (a live stream of the creator is frozen: the kill
    switch); a retry with the same key returns the first outcome with ``replayed`` set.
    Raises `IdempotencyKeyReused`.
    """
    try:
        result = await pool.fetchval(
            _TIP,
            tip.key.owner_id,
            tip.key.key,
            tip.fingerprint,
            tip.wallet_id,
            tip.amount,
            tip.stream_id,
            *array_literals(tip.entries),
            tip.fee_schedule,
            tip.receipt,
            tip.request_id,
            tip.memo,
            tip.menu_item_id,
        )
    except asyncpg.UniqueViolationError as exc:
        if not idempotency.is_key_conflict(exc):
            raise
        return await idempotency.replay(pool, tip.key, OPERATION, tip.fingerprint)
    return Outcome.from_json(json.loads(result), replayed=False)


async def tip(
    pool: asyncpg.Pool,
    book: AccountBook,
    key: IdempotencyKey,
    request: TipRequest,
    *,
    request_id: str | None = None,
) -> Outcome:
    """Tip ``request.amount`` tokens from ``key.owner_id``'s wallet to the stream's creator,
    in its own database transaction (`prepare` then `execute`; amount limits are the
    caller's)."""
    return await execute(pool, await prepare(pool, book, key, request, request_id=request_id))


async def tip_profile(
    pool: asyncpg.Pool,
    book: AccountBook,
    key: IdempotencyKey,
    creator: uuid.UUID,
    amount: int,
    message: str | None = None,
    *,
    request_id: str | None = None,
) -> Outcome:
    """Tip ``amount`` tokens to ``creator``'s profile: no live stream needed, otherwise the
    same one-statement path and split as a stream tip (the caller checks the creator exists).

    Success data: ``tipId``, ``creatorId``, ``amount``, ``message``, new ``balance``, the
    split and its ``feeSchedule``; or the stored error ``INSUFFICIENT_FUNDS``. Raises `SelfTip`,
    `StreamFrozen` (a live stream of the creator is frozen) and `IdempotencyKeyReused`.
    """
    viewer = key.owner_id
    if creator == viewer:
        raise SelfTip("nobody can tip themselves")
    await refuse_if_frozen(pool, creator)  # the kill switch (api.wallet.streams)
    schedule = await book.current_schedule(pool)
    referrer = await book.referrer_of(pool, creator)
    shares = split(amount, schedule, referred=referrer is not None)
    wallet = await book.of(pool, AccountKind.WALLET, viewer)
    postings = [
        Posting(wallet, -amount),
        Posting(await book.of(pool, AccountKind.EARNINGS, creator), shares.creator),
        Posting(await book.system(pool, AccountKind.PLATFORM), shares.platform),
    ]
    if referrer is not None:
        postings.append(
            Posting(await book.of(pool, AccountKind.EARNINGS, referrer), shares.referral)
        )
    entries = balanced(postings)
    fingerprint = idempotency.request_hash(
        PROFILE_OPERATION, {"creator": str(creator), "amount": amount, "message": message}
    )
    receipt = {
        "creatorId": str(creator),
        "amount": amount,
        "message": message,
        "feeSchedule": schedule.version,
        "split": {
            "creator": shares.creator,
            "platform": shares.platform,
            "referral": shares.referral,
        },
    }
    memo: dict[str, Any] = {
        "payee": str(creator),
        "referrer": str(referrer) if referrer else None,
        "profile": True,
    }
    if message:
        memo["message"] = message
    try:
        result = await pool.fetchval(
            _PROFILE_TIP,
            viewer,
            key.key,
            fingerprint,
            wallet.id,
            amount,
            *array_literals(entries),
            schedule.version,
            json.dumps(receipt),
            request_id,
            json.dumps(memo),
        )
    except asyncpg.UniqueViolationError as exc:
        if not idempotency.is_key_conflict(exc):
            raise
        return await idempotency.replay(pool, key, PROFILE_OPERATION, fingerprint)
    return Outcome.from_json(json.loads(result), replayed=False)
