-- Idempotency keys expire after TEEZU_IDEMPOTENCY_TTL_HOURS: the ledger worker (and
-- `teezu ledger expire-keys`) deletes the older ones by this index.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
