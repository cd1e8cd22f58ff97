-- Platform memberships: the member tiers (basic, plus, premium, elite) and Creator+, paid
-- monthly in tokens to the platform (api.memberships). Same life as a creator subscription
-- (api.subscriptions.model: active -> grace -> expired, or cancelled -> ended), one charge row
-- per (membership, period) as the exactly-once key of billing.
--
-- A charge is a ledger transaction of kind 'membership': the member's wallet pays the
-- platform account the whole price (no fee split, so no fee schedule on it).

SELECT ledger_widen_kind_check('ledger_transactions', 'ledger_transactions_kind_check',
    'kind = ANY (%L::text[])', ARRAY['membership']);

CREATE TABLE memberships (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan text NOT NULL CHECK (plan IN ('basic', 'plus', 'premium', 'elite', 'creator_plus')),
    kind text NOT NULL CHECK (kind IN ('member', 'creator')),
    state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'grace', 'expired', 'ended')),
    period int NOT NULL DEFAULT 0 CHECK (period >= 0),
    current_period_start timestamptz NOT NULL,
    current_period_end timestamptz NOT NULL,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    grace_until timestamptz,
    access_until timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    failed_attempts int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    CHECK ((state = 'grace') = (grace_until IS NOT NULL)),
    CHECK ((state IN ('expired', 'ended')) = (ended_at IS NOT NULL)),
    CHECK ((kind = 'creator') = (plan = 'creator_plus'))
);
-- One live membership per account and kind (a member tier and Creator+ may coexist); also
-- the index a session read uses.
CREATE UNIQUE INDEX memberships_live_idx ON memberships (user_id, kind)
    WHERE state IN ('active', 'grace');
CREATE INDEX memberships_due_idx ON memberships (next_attempt_at)
    WHERE state IN ('active', 'grace');
CREATE INDEX memberships_user_idx ON memberships (user_id, created_at DESC, id);

CREATE TABLE membership_charges (
    membership_id uuid NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    period int NOT NULL CHECK (period >= 0),
    plan text NOT NULL,
    price bigint NOT NULL CHECK (price > 0),
    tx_id bigint NOT NULL REFERENCES ledger_transactions (id),
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    charged_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (membership_id, period)
);
