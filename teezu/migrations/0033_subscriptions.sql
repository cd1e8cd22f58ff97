-- Subscriptions: creators' tiers (a monthly price in tokens), viewers' subscriptions, and one
-- charge row per (subscription, period), the exactly-once key of billing.
--
-- A charge is a ledger transaction of kind 'subscription': the subscriber's wallet pays the
-- creator, the platform and the creator's referrer, split like a tip under the current fee
-- schedule (recorded on the transaction), with the subscription's id on it.

-- The two CHECKs of 0030 that list the transaction kinds, re-made with 'subscription' (their
-- generated names are looked up rather than assumed).
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = 'ledger_transactions'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%tip_reversal%'
    LOOP
        EXECUTE format('ALTER TABLE ledger_transactions DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE ledger_transactions
    ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN (
        'purchase', 'refund', 'chargeback', 'tip', 'tip_reversal',
        'hold_reserve', 'hold_capture', 'hold_release', 'subscription'
    )),
    ADD CONSTRAINT ledger_transactions_fee_schedule_check CHECK (
        (fee_schedule IS NOT NULL) = (kind IN ('tip', 'hold_capture', 'tip_reversal', 'subscription'))
    ),
    -- No foreign key (the hot-row rule of 0030): set on subscription charges only.
    ADD COLUMN subscription_id uuid;
CREATE INDEX ledger_transactions_subscription_idx ON ledger_transactions (subscription_id)
    WHERE subscription_id IS NOT NULL;

CREATE TABLE subscription_tiers (
    id uuid PRIMARY KEY,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    price bigint NOT NULL CHECK (price > 0),  -- tokens per period; a change applies at renewal
    active boolean NOT NULL DEFAULT true,     -- inactive: no new subscribers, renewals go on
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_tiers_creator_idx ON subscription_tiers (creator_id, price);

-- state: active (paid through current_period_end), grace (a renewal failed: access continues
-- until grace_until while renewals are retried), expired (grace ran out), ended (cancelled,
-- and its last paid period is over).
CREATE TABLE subscriptions (
    id uuid PRIMARY KEY,
    subscriber_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier_id uuid NOT NULL REFERENCES subscription_tiers (id),
    state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'grace', 'expired', 'ended')),
    period int NOT NULL DEFAULT 0 CHECK (period >= 0),  -- the latest paid period (0: the first)
    current_period_start timestamptz NOT NULL,
    current_period_end timestamptz NOT NULL,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    grace_until timestamptz,
    -- Until when the subscriber may watch: set with every state change (the end of the paid
    -- period plus the grace period while renewing, the paid period's end once cancelled,
    -- grace_until in grace), so access ends on time even if the renewal job runs late.
    access_until timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,  -- when the renewal job next looks at it
    failed_attempts int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    CHECK (subscriber_id <> creator_id),
    CHECK ((state = 'grace') = (grace_until IS NOT NULL)),
    CHECK ((state IN ('expired', 'ended')) = (ended_at IS NOT NULL))
);
-- One live subscription per viewer and creator (a concurrent second subscribe fails here);
-- also the index `is_subscriber` reads.
CREATE UNIQUE INDEX subscriptions_live_idx ON subscriptions (subscriber_id, creator_id)
    WHERE state IN ('active', 'grace');
CREATE INDEX subscriptions_due_idx ON subscriptions (next_attempt_at)
    WHERE state IN ('active', 'grace');
CREATE INDEX subscriptions_subscriber_idx ON subscriptions (subscriber_id, created_at DESC, id);
CREATE INDEX subscriptions_creator_idx ON subscriptions (creator_id, created_at DESC, id)
    WHERE state IN ('active', 'grace');

-- Each period is charged at most once, whoever runs the renewal: the primary key is the
-- exactly-once guard behind the row lock the renewal job takes. The price is the one charged
-- (a tier's price change applies from the next period on).
CREATE TABLE subscription_charges (
    subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    period int NOT NULL CHECK (period >= 0),
    tier_id uuid NOT NULL,
    price bigint NOT NULL CHECK (price > 0),
    tx_id bigint NOT NULL REFERENCES ledger_transactions (id),
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    charged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, period)
);
