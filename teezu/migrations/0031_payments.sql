-- Token packages and purchases through a payment provider. Prices are integer minor units
-- (cents); the provider holds every card detail, we only keep its payment reference.

CREATE TABLE token_packages (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{1,40}$'),
    tokens bigint NOT NULL CHECK (tokens > 0),
    price_minor bigint NOT NULL CHECK (price_minor > 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO token_packages (id, tokens, price_minor, currency) VALUES
    ('tokens-100', 100, 999, 'EUR'),
    ('tokens-500', 500, 4499, 'EUR'),
    ('tokens-1000', 1000, 7999, 'EUR'),
    ('tokens-5000', 5000, 34999, 'EUR');

CREATE TABLE purchases (
    id uuid PRIMARY KEY,
    buyer_id uuid NOT NULL,  -- a user (FK to users after issue 4 is merged)
    package_id text NOT NULL REFERENCES token_packages (id),
    tokens bigint NOT NULL CHECK (tokens > 0),
    price_minor bigint NOT NULL CHECK (price_minor > 0),
    currency text NOT NULL,
    provider text NOT NULL,
    -- The provider's opaque token for how the buyer pays (made in the buyer's browser by the
    -- provider's own page or script: card numbers never reach us), if the buyer chose one.
    payment_method text,
    provider_ref text,  -- the provider's payment id, once it has one
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'confirmed', 'declined', 'refunded', 'charged_back')),
    credit_tx bigint REFERENCES ledger_transactions (id),   -- tokens credited (confirmed)
    reversal_tx bigint REFERENCES ledger_transactions (id), -- refund or chargeback
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, provider_ref),
    CHECK ((credit_tx IS NOT NULL) = (state IN ('confirmed', 'refunded', 'charged_back'))),
    CHECK ((reversal_tx IS NOT NULL) = (state IN ('refunded', 'charged_back')))
);
CREATE INDEX purchases_buyer_idx ON purchases (buyer_id, created_at DESC);

-- Every webhook event we accepted, so a duplicate delivery is recognized and ignored. The row
-- commits with the event's effect, in one database transaction.
CREATE TABLE payment_events (
    provider text NOT NULL,
    event_id text NOT NULL,
    type text NOT NULL,
    purchase_id uuid,
    outcome text NOT NULL,  -- what we did with it (applied, ignored: <why>)
    payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
