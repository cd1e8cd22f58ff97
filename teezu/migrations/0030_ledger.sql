-- The token ledger: accounts, append-only double-entry transactions, and the database's own
-- guards for the invariants of issue 5 (api/wallet/ enforces them in code as well).
--
-- Sign convention: an entry's amount is signed; a transaction's amounts sum to zero (its
-- debits, the negative amounts, equal its credits, the positive ones). An account's balance is
-- the sum of its entries: a viewer's wallet is positive, the sales account that tokens are
-- issued from is negative.
--
-- Users are referenced by uuid without a foreign key to users for now (ledger_accounts.owner_id,
-- ledger_holds.owner_id/payee_id, purchases.buyer_id, affiliate_referrals, idempotency_keys):
-- to be added once account deletion (GDPR) has a rule for money. There are deliberately NO foreign
-- keys to rows that every tip touches (the creator's account, the platform account, the fee
-- schedule, the stream): a foreign-key check takes FOR KEY SHARE on the parent row, and
-- hundreds of concurrent tips sharing one parent row turn that into a MultiXact per tip, which
-- serializes exactly what the hot-account design avoids. Accounts are never deleted (trigger
-- below), and the commit-time check of each transaction verifies its entries' accounts exist.

CREATE TABLE ledger_accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN (
        'wallet',             -- a viewer's spendable tokens (maintained balance, never < 0)
        'earnings',           -- a creator's (or referrer's) earned tokens (derived balance)
        'receivable',         -- a viewer's chargeback debt (derived balance, <= 0)
        'sales',              -- system: tokens issued against payments (negative)
        'platform',           -- system: platform fee revenue
        'escrow',             -- system: tokens reserved by holds
        'chargeback_reserve'  -- system: absorbs chargebacks creators' earnings cannot cover
    )),
    owner_id uuid,  -- the user for wallet/earnings/receivable; NULL for system accounts
    -- Maintained only for wallets (each viewer's row is the one contended row of a spend);
    -- every other balance is derived from entries (plus ledger_rollups). `teezu ledger check`
    -- proves the maintained column equals the sum of the entries.
    balance bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((owner_id IS NULL) = (kind IN ('sales', 'platform', 'escrow', 'chargeback_reserve'))),
    CHECK ((balance IS NOT NULL) = (kind = 'wallet')),
    CHECK (balance >= 0)  -- invariant 5's backstop; the spend itself is a conditional UPDATE
);
CREATE UNIQUE INDEX ledger_accounts_owner_idx ON ledger_accounts (kind, owner_id)
    WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_accounts_system_idx ON ledger_accounts (kind) WHERE owner_id IS NULL;
INSERT INTO ledger_accounts (kind) VALUES ('sales'), ('platform'), ('escrow'),
    ('chargeback_reserve');

-- Versioned fee schedules: rows are never changed, a new version is a new row. Shares are in
-- basis points of a tip; the referral share is carved out of the platform's share.
CREATE TABLE ledger_fee_schedules (
    version text PRIMARY KEY,
    creator_bps int NOT NULL CHECK (creator_bps BETWEEN 0 AND 10000),
    platform_bps int NOT NULL CHECK (platform_bps BETWEEN 0 AND 10000),
    referral_bps int NOT NULL CHECK (referral_bps BETWEEN 0 AND 10000),
    effective_from timestamptz NOT NULL UNIQUE,
    CHECK (creator_bps + platform_bps = 10000),
    CHECK (referral_bps <= platform_bps)
);
INSERT INTO ledger_fee_schedules VALUES ('2026-01', 8000, 2000, 500, '2026-01-01T00:00:00Z');

CREATE TABLE ledger_transactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN (
        'purchase', 'refund', 'chargeback', 'tip', 'tip_reversal',
        'hold_reserve', 'hold_capture', 'hold_release'
    )),
    initiator_id uuid,          -- the user whose action (or payment) caused it
    fee_schedule text,          -- the schedule a split used (tips, captures, their reversals)
    reverses bigint REFERENCES ledger_transactions (id),  -- the transaction this one reverses
    stream_id uuid,             -- no FK: the hot stream's row must not be KEY SHARE-locked
    purchase_id uuid,
    hold_id uuid,
    memo jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The database transaction that created it: entries carry their own xid and reference
    -- (id, created_xid), so only that same database transaction can add entries to it, and a
    -- committed transaction can never gain (or be balanced after the fact by) entries.
    created_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (id, created_xid),
    CHECK ((fee_schedule IS NOT NULL) = (kind IN ('tip', 'hold_capture', 'tip_reversal')))
);
CREATE INDEX ledger_transactions_reverses_idx ON ledger_transactions (reverses)
    WHERE reverses IS NOT NULL;
CREATE INDEX ledger_transactions_purchase_idx ON ledger_transactions (purchase_id)
    WHERE purchase_id IS NOT NULL;
CREATE INDEX ledger_transactions_hold_idx ON ledger_transactions (hold_id)
    WHERE hold_id IS NOT NULL;

-- One entry per (transaction, account): postings to one account are merged before insert.
CREATE TABLE ledger_entries (
    tx_id bigint NOT NULL,
    account_id bigint NOT NULL,  -- checked at commit by ledger_transaction_balanced
    amount bigint NOT NULL CHECK (amount <> 0),
    -- The inserting database transaction: balances are rolled up through a snapshot's xmin,
    -- below which every transaction has finished (ids are not in commit order; xids are safe).
    -- It also orders an account's history.
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (tx_id, account_id),
    FOREIGN KEY (tx_id, xid) REFERENCES ledger_transactions (id, created_xid)
);
-- An account's entries in xid order: its history, and the entries after its roll-up.
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, xid, tx_id);

-- Balances of derived accounts through a horizon: balance = rollup + entries with xid >= it.
CREATE TABLE ledger_rollups (
    account_id bigint PRIMARY KEY,
    balance bigint NOT NULL,
    through_xid xid8 NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Invariant 2 in the database: at commit, each new transaction has >= 2 entries summing to 0,
-- on existing accounts, made by this database transaction. A constraint trigger on the
-- transaction row runs once per transaction, not once per entry; the (tx_id, xid) foreign key
-- above keeps any later database transaction from adding entries to it.
CREATE FUNCTION ledger_transaction_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    known bigint;
    total numeric;
BEGIN
    SELECT count(*), count(a.id), coalesce(sum(e.amount), 0) INTO n, known, total
    FROM ledger_entries e LEFT JOIN ledger_accounts a ON a.id = e.account_id
    WHERE e.tx_id = NEW.id;
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % is unbalanced: % entries, sum %', NEW.id, n, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    IF known <> n THEN
        RAISE EXCEPTION 'ledger transaction % has entries on accounts that do not exist', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    IF NEW.created_xid <> pg_current_xact_id() THEN
        RAISE EXCEPTION 'ledger transaction % claims another database transaction''s xid', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transactions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

-- Invariant 3: entries and transactions are append-only; corrections are new transactions.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (post a reversing transaction instead)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_fee_schedules_append_only BEFORE UPDATE OR DELETE ON ledger_fee_schedules
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Accounts are never deleted and never change identity; only a wallet's balance moves.
CREATE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.kind <> OLD.kind
            OR NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
        RAISE EXCEPTION 'ledger accounts are never deleted or re-assigned (%)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Invariant 6: the first result of every mutating money call, replayed for its retries.
-- The row is inserted by the same statement (or database transaction) as the effect, so a
-- concurrent retry waits on the unique index and then replays; there is never a second effect.
CREATE TABLE idempotency_keys (
    owner_id uuid NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    operation text NOT NULL,
    request_hash bytea NOT NULL,
    result jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, key)
);

-- Invariant 7: two-phase holds. A hold moves tokens wallet -> escrow; it then ends exactly once
-- (a conditional UPDATE on state): captured (escrow -> payees, the rest back to the wallet),
-- released (escrow -> wallet) or expired (released by the ledger worker).
CREATE TABLE ledger_holds (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL,     -- whose wallet the tokens came from
    payee_id uuid,              -- who is paid on capture (creator), if known at reserve time
    purpose text NOT NULL CHECK (purpose IN ('private_show', 'pledge', 'ticket', 'payout')),
    amount bigint NOT NULL CHECK (amount > 0),
    captured bigint CHECK (captured >= 0 AND captured <= amount),
    state text NOT NULL DEFAULT 'held'
        CHECK (state IN ('held', 'captured', 'released', 'expired')),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz,  -- its transactions carry hold_id (reserve, extensions, the end)
    CHECK ((state = 'held') = (settled_at IS NULL)),
    CHECK ((state = 'captured') = (captured IS NOT NULL))
);
CREATE INDEX ledger_holds_expiry_idx ON ledger_holds (expires_at) WHERE state = 'held';
CREATE INDEX ledger_holds_owner_idx ON ledger_holds (owner_id, created_at DESC);

-- Who referred whom (the referrer of a creator earns the referral share of their tips).
CREATE TABLE affiliate_referrals (
    referred_id uuid PRIMARY KEY,
    referrer_id uuid NOT NULL CHECK (referrer_id <> referred_id),
    created_at timestamptz NOT NULL DEFAULT now()
);
