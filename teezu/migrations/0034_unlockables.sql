-- Unlockables: a creator's content (text or a URL) that unlocks at a tip threshold, for one
-- viewer (their own tips to the creator, or to one stream) or for a stream's whole room (the
-- room's tips since the unlockable was made). Progress is read from the ledger's tips, never
-- kept in a counter every tip would update (the hot-account rule of 0030).

CREATE TABLE unlockables (
    id uuid PRIMARY KEY,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stream_id uuid REFERENCES streams (id) ON DELETE CASCADE,  -- required for scope 'room'
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    payload text NOT NULL CHECK (length(payload) BETWEEN 1 AND 4000),
    scope text NOT NULL CHECK (scope IN ('viewer', 'room')),
    threshold bigint NOT NULL CHECK (threshold > 0),  -- tokens
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    unlocked_at timestamptz,  -- scope 'room': set once, by a conditional UPDATE
    CHECK (scope = 'viewer' OR stream_id IS NOT NULL),
    CHECK (scope = 'room' OR unlocked_at IS NULL)
);
CREATE INDEX unlockables_creator_idx ON unlockables (creator_id, created_at DESC, id);
CREATE INDEX unlockables_stream_idx ON unlockables (stream_id) WHERE stream_id IS NOT NULL;

-- Who has unlocked a viewer-scope unlockable (one row per viewer, written once: the
-- announcement goes out exactly once).
CREATE TABLE unlockable_unlocks (
    unlockable_id uuid NOT NULL REFERENCES unlockables (id) ON DELETE CASCADE,
    viewer_id uuid NOT NULL,
    unlocked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unlockable_id, viewer_id)
);

-- A room's tips on one stream in id order (room progress). Only an index entry per tip, not a
-- row every tip of the stream would lock.
CREATE INDEX ledger_transactions_stream_tips_idx ON ledger_transactions (stream_id, created_at)
    WHERE kind = 'tip';
