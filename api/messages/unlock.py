"""Unlocking a paid direct message: one ledger transaction, exactly once.

The buyer pays the message's price as a tip to its sender (kind ``tip``, no stream; the memo
names the message), split by the current fee schedule like every tip, so the sender's referrer
gets the referral share and chargebacks, maturity and the books' check treat it as any tip.

Exactly once, two ways:

* one ``Idempotency-Key`` retried (concurrently or not) has one effect and one stored outcome
  (`api.wallet.idempotency.run_idempotent`);
* several keys for the same message (two tabs, a client that lost its key) queue on the
  message row's lock, taken first in the same database transaction: a later one waits for the
  first's commit, finds its ``message_unlocks`` row and charges nothing (``alreadyUnlocked``).
"""

from __future__ import annotations

import uuid
from typing import Any

from api.messages import store
from api.messages.errors import MessageNotFound, NotForSale
from api.wallet import idempotency
from api.wallet import store as ledger_store
from api.wallet.fees import split
from api.wallet.idempotency import run_idempotent
from api.wallet.model import AccountKind, IdempotencyKey, Outcome, Posting, TxKind
from api.wallet.service import Ledger
from api.wallet.streams import refuse_if_frozen
from teezu.db import Connection

OPERATION = "message_unlock"


async def unlock(
    ledger: Ledger,
    key: IdempotencyKey,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    request_id: str | None = None,
) -> Outcome:
    """Pay for ``message_id`` from ``key.owner_id``'s wallet (the conversation's other side).

    Success data: ``messageId``, ``price``, ``balance``, ``alreadyUnlocked`` and the ``txId``
    (the one transaction that paid for it). Stored refusal: ``INSUFFICIENT_FUNDS``. Raises
    `MessageNotFound`, `NotForSale` (no price, or the caller's own message) and `StreamFrozen`
    (a live stream of the sender is frozen).
    """
    pool, book = ledger.pool, ledger.book
    buyer = key.owner_id
    message = await store.get(pool, message_id)
    if message is None or message.conversation_id != conversation_id:
        raise MessageNotFound("no such message", meta={"messageId": str(message_id)})
    if message.price is None or message.sender_id == buyer:
        raise NotForSale("this message has nothing to unlock", meta={"messageId": str(message_id)})
    price, seller = message.price, message.sender_id
    # A tip to the sender by another name: refused while a live stream of theirs is frozen,
    # as every payment to a creator is (the kill switch, api.wallet.streams).
    await refuse_if_frozen(pool, seller)

    async def body(conn: Connection) -> dict[str, Any]:
        wallet = await book.of(conn, AccountKind.WALLET, buyer)
        # The message row's lock orders every attempt on it; a later one sees the first's row.
        await conn.execute("SELECT 1 FROM messages WHERE id = $1 FOR UPDATE", message_id)
        existing = await conn.fetchval(
            "SELECT tx_id FROM message_unlocks WHERE message_id = $1", message_id
        )
        if existing is not None:
            return _data(
                message_id, price, await ledger_store.balance(conn, wallet), existing, True
            )
        schedule = await book.current_schedule(conn)
        referrer = await book.referrer_of(conn, seller)
        shares = split(price, schedule, referred=referrer is not None)
        postings = [
            Posting(wallet, -price),
            Posting(await book.of(conn, AccountKind.EARNINGS, seller), shares.creator),
            Posting(await book.system(conn, AccountKind.PLATFORM), shares.platform),
        ]
        if referrer is not None:
            postings.append(
                Posting(await book.of(conn, AccountKind.EARNINGS, referrer), shares.referral)
            )
        tx_id = await ledger_store.post(
            conn,
            TxKind.TIP,
            postings,
            initiator_id=buyer,
            fee_schedule=schedule.version,
            memo={
                "payee": str(seller),
                "referrer": str(referrer) if referrer else None,
                "directMessage": str(message_id),
            },
        )
        await conn.execute(
            "INSERT INTO message_unlocks (message_id, buyer_id, tx_id) VALUES ($1, $2, $3)",
            message_id,
            buyer,
            tx_id,
        )
        return _data(message_id, price, await ledger_store.balance(conn, wallet), tx_id, False)

    fingerprint = idempotency.request_hash(OPERATION, {"message": str(message_id)})
    return await run_idempotent(pool, key, OPERATION, fingerprint, body, request_id=request_id)


def _data(
    message_id: uuid.UUID, price: int, balance: int, tx_id: int, already: bool
) -> dict[str, Any]:
    return {
        "messageId": str(message_id),
        "price": price,
        "balance": balance,
        "txId": tx_id,
        "alreadyUnlocked": already,
    }
