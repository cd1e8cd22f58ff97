-- Holds know their stream and what they pay for, so the kill switch (stop_billing) can find
-- every pending hold of a stream; private shows billed per minute, ticket shows and their
-- tickets, and goals whose pledges are holds.

-- The stream a hold belongs to, and the row it pays for (the private show, the ticket show or
-- the goal; NULL for a payout). No foreign keys: the hot-row rule of 0030_ledger.sql.
ALTER TABLE ledger_holds ADD COLUMN stream_id uuid, ADD COLUMN ref_id uuid;
UPDATE ledger_holds h SET stream_id = t.stream_id
FROM ledger_transactions t
WHERE t.hold_id = h.id AND t.kind = 'hold_reserve' AND h.stream_id IS NULL;
CREATE INDEX ledger_holds_stream_idx ON ledger_holds (stream_id) WHERE state = 'held';
CREATE INDEX ledger_holds_ref_idx ON ledger_holds (ref_id) WHERE ref_id IS NOT NULL;

-- A creator's private-show price per minute (NULL: no private shows).
CREATE TABLE show_prices (
    creator_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    private_per_minute bigint CHECK (private_per_minute > 0),  -- tokens
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- requested -> running -> ended, or requested -> declined | cancelled. The state UPDATE from
-- 'running' is the gate that ends a show exactly once; `charged` is what its hold is captured
-- for (whole minutes x price), fixed by that same UPDATE.
CREATE TABLE private_shows (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    creator_id uuid NOT NULL,
    viewer_id uuid NOT NULL,
    price_per_minute bigint NOT NULL CHECK (price_per_minute > 0),
    state text NOT NULL DEFAULT 'requested'
        CHECK (state IN ('requested', 'running', 'ended', 'declined', 'cancelled')),
    hold_id uuid,                 -- set when it starts (the first minute's reserve)
    billed_minutes int NOT NULL DEFAULT 0 CHECK (billed_minutes >= 0),  -- minutes reserved
    charged bigint CHECK (charged >= 0),
    end_reason text,
    node_id text,                 -- the node whose task bills it
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz,
    CHECK (state = 'requested' OR state IN ('declined', 'cancelled') OR started_at IS NOT NULL),
    CHECK ((state = 'ended') = (charged IS NOT NULL))
);
-- One running private show per stream; one pending request per viewer and stream.
CREATE UNIQUE INDEX private_shows_running_idx ON private_shows (stream_id)
    WHERE state = 'running';
CREATE UNIQUE INDEX private_shows_request_idx ON private_shows (stream_id, viewer_id)
    WHERE state = 'requested';
CREATE INDEX private_shows_stream_idx ON private_shows (stream_id, created_at DESC);

-- announced -> running -> ended, or announced -> cancelled. Tickets are holds (purpose
-- 'ticket', ref_id = the show): captured when it starts, released if it is cancelled.
CREATE TABLE ticket_shows (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    creator_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    price bigint NOT NULL CHECK (price > 0),  -- tokens
    state text NOT NULL DEFAULT 'announced'
        CHECK (state IN ('announced', 'running', 'ended', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz,
    end_reason text
);
-- At most one announced or running ticket show per stream.
CREATE UNIQUE INDEX ticket_shows_open_idx ON ticket_shows (stream_id)
    WHERE state IN ('announced', 'running');

-- Who holds a ticket: one per viewer and show; `hold_id` is the purchase's hold.
CREATE TABLE show_tickets (
    show_id uuid NOT NULL REFERENCES ticket_shows (id) ON DELETE CASCADE,
    viewer_id uuid NOT NULL,
    hold_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (show_id, viewer_id)
);

-- A goal collects tips (mode 'tips', as before) or refundable pledges (mode 'pledge': holds
-- with ref_id = the goal, captured when the pledges reach the target, released if the stream
-- ends first or the goal is cancelled).
ALTER TABLE stream_goals ADD COLUMN mode text NOT NULL DEFAULT 'tips'
    CHECK (mode IN ('tips', 'pledge'));
