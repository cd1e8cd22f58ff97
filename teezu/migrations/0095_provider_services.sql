-- Provider services and bookings (api.services): a provider publishes a service with pricing
-- tiers and time slots (entered in the provider's time zone, stored as instants); a member
-- books a slot at one pricing tier, which reserves the price with a ledger hold (purpose
-- 'booking'); the provider accepts or declines; completion captures; cancellation captures
-- or releases per the policy copied onto the booking when it was made.

SELECT ledger_widen_kind_check('ledger_holds', 'ledger_holds_purpose_check',
    'purpose = ANY (%L::text[])', ARRAY['booking']);

CREATE TABLE provider_services (
    id uuid PRIMARY KEY,
    provider_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    time_zone text NOT NULL,
    -- cancellation policy: free until this many hours before the start, then the fee.
    free_cancel_hours int NOT NULL CHECK (free_cancel_hours BETWEEN 0 AND 720),
    late_cancel_percent int NOT NULL CHECK (late_cancel_percent BETWEEN 0 AND 100),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_services_provider_idx ON provider_services (provider_id, created_at DESC);

CREATE TABLE service_prices (
    id uuid PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES provider_services (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    price bigint NOT NULL CHECK (price > 0),
    position int NOT NULL,
    UNIQUE (service_id, position)
);

CREATE TABLE service_slots (
    id uuid PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES provider_services (id) ON DELETE CASCADE,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    CHECK (ends_at > starts_at),
    UNIQUE (service_id, starts_at)
);
CREATE INDEX service_slots_time_idx ON service_slots (service_id, starts_at);

CREATE TABLE service_bookings (
    id uuid PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES provider_services (id) ON DELETE CASCADE,
    slot_id uuid NOT NULL REFERENCES service_slots (id) ON DELETE CASCADE,
    price_id uuid NOT NULL REFERENCES service_prices (id) ON DELETE CASCADE,
    member_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    price bigint NOT NULL CHECK (price > 0),
    hold_id uuid NOT NULL UNIQUE,
    state text NOT NULL DEFAULT 'requested'
        CHECK (state IN ('requested', 'accepted', 'declined', 'cancelled', 'completed')),
    -- the policy shown at booking, kept with it (a later change of the service's policy does
    -- not apply to bookings already made)
    free_cancel_hours int NOT NULL,
    late_cancel_percent int NOT NULL,
    charged bigint,  -- what the hold was captured for, once settled
    cancelled_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (member_id <> provider_id)
);
-- No double booking: one live booking per slot (concurrent bookings of a slot fail here).
CREATE UNIQUE INDEX service_bookings_slot_live_idx ON service_bookings (slot_id)
    WHERE state IN ('requested', 'accepted', 'completed');
CREATE INDEX service_bookings_member_idx ON service_bookings (member_id, created_at DESC);
CREATE INDEX service_bookings_provider_idx ON service_bookings (provider_id, created_at DESC);
