-- Paid direct messages: a creator may ask a price (tokens, in messages.metadata.price) to
-- unlock a message's text. The recipient unlocks it once: one message_unlocks row per message
-- (a conversation has one recipient), written in the same database transaction as the ledger
-- transaction that pays for it, under the message row's lock, so concurrent retries (with one
-- idempotency key or several) pay at most once.
-- No foreign key to messages: this range of migrations runs before 0092 creates them; the
-- direct messages' erasure (api/messages/privacy.py) deletes a message's unlock with it.
CREATE TABLE message_unlocks (
    message_id uuid PRIMARY KEY,
    buyer_id uuid NOT NULL,  -- no FK: the ledger keeps its rows when an account is erased
    tx_id bigint NOT NULL REFERENCES ledger_transactions (id),
    unlocked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_unlocks_buyer_idx ON message_unlocks (buyer_id);
