-- Idempotency keys expire after TEEZU_IDEMPOTENCY_TTL_HOURS: the ledger worker (and
-- `teezu ledger expire-keys`) deletes the older ones by this index.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Time -> xid checkpoints, written by the ledger worker every few minutes: every ledger entry
-- with xid < `xid` belongs to a transaction that had finished by `at` (xid is the xmin of a
-- snapshot taken no later than `at`), so its created_at is before `at`. Maturity and statements
-- then scan only a creator's entries from the checkpoint before their cutoff on, by the
-- (account_id, xid) index, instead of the creator's whole history.
CREATE TABLE ledger_xid_clock (
    at timestamptz PRIMARY KEY,
    xid xid8 NOT NULL
);
