-- Payouts: a creator cashes out matured earnings (api/wallet/payouts.py).
--
-- Money path (all balanced ledger transactions, append-only like every other):
--   payout_reserve  earnings -> payouts_pending            (the request, under the earnings
--                                                           account's advisory lock)
--   payout_capture  payouts_pending -> payouts_paid         (admin approval; the tokens leave
--                   (+ chargeback_reserve: the withheld     the system, the creator is paid
--                   reserve share)                          outside it)
--   payout_release  payouts_pending -> earnings             (admin rejection)
-- The payout's state moves pending -> approved | rejected by one conditional UPDATE, so each
-- payout is decided exactly once.

-- Widen a "kind IN (...)" CHECK by the given values, keeping whatever it allows now (other
-- migrations may widen it too, so the list is read from the constraint rather than restated;
-- both of PostgreSQL's renderings, ARRAY['a'::text, ...] and '{a,...}'::text[], are read).
-- ``expr`` is the new CHECK expression with %L where the kinds' array literal goes.
CREATE FUNCTION ledger_widen_kind_check(tbl regclass, con text, expr text, extra text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    def text;
    kinds text[];
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
    WHERE conrelid = tbl AND conname = con;
    IF def IS NULL THEN
        RAISE EXCEPTION 'constraint % on % not found', con, tbl;
    END IF;
    SELECT array_agg(DISTINCT k ORDER BY k) INTO kinds FROM (
        SELECT m[1] AS k
        FROM regexp_matches(substring(def FROM 'ANY \((.*)$'), '([a-z_]{2,})', 'g') AS m
        WHERE m[1] NOT IN ('array', 'text')
        UNION SELECT unnest(extra)
    ) s;
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I CHECK (%s)',
        tbl, con, con, format(expr, kinds));
END $$;

SELECT ledger_widen_kind_check('ledger_accounts', 'ledger_accounts_kind_check',
    'kind = ANY (%L::text[])', ARRAY['payouts_pending', 'payouts_paid']);
-- System accounts have no owner: the two new ones are system accounts.
SELECT ledger_widen_kind_check('ledger_accounts', 'ledger_accounts_check',
    '(owner_id IS NULL) = (kind = ANY (%L::text[]))', ARRAY['payouts_pending', 'payouts_paid']);
SELECT ledger_widen_kind_check('ledger_transactions', 'ledger_transactions_kind_check',
    'kind = ANY (%L::text[])', ARRAY['payout_reserve', 'payout_capture', 'payout_release']);

INSERT INTO ledger_accounts (kind) VALUES ('payouts_pending'), ('payouts_paid');

CREATE TABLE payouts (
    id uuid PRIMARY KEY,
    creator_id uuid NOT NULL,  -- the earnings account's owner (no FK: see 0030's note on users)
    amount bigint NOT NULL CHECK (amount > 0),  -- tokens taken out of earnings
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    reserve_tx bigint NOT NULL REFERENCES ledger_transactions (id),
    settle_tx bigint REFERENCES ledger_transactions (id),  -- the capture or the release
    -- On approval: the tokens withheld into the chargeback reserve (the rest is paid out).
    withheld bigint CHECK (withheld >= 0 AND withheld <= amount),
    decided_by uuid,
    decided_at timestamptz,
    note text CHECK (length(note) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'pending') = (settle_tx IS NULL)),
    CHECK ((state = 'pending') = (decided_at IS NULL)),
    CHECK ((state = 'approved') = (withheld IS NOT NULL))
);
CREATE INDEX payouts_state_idx ON payouts (state, created_at, id);
CREATE INDEX payouts_creator_idx ON payouts (creator_id, created_at DESC, id);
