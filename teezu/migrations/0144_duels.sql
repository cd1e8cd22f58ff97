-- Creator duels (api/engagement/duels.py): two live streams agree to a timed duel scored by
-- the tokens tipped to each in its window (read from the ledger, so each tip counts once).
-- A duel ends once: one conditional UPDATE ... WHERE state = 'live' (any API node's sweep, or
-- a creator's early end), which also writes the scores and the winner.
CREATE TABLE stream_duels (
    id uuid PRIMARY KEY,
    challenger_stream uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    opponent_stream uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    rule text NOT NULL DEFAULT 'tips' CHECK (rule IN ('tips')),
    seconds integer NOT NULL CHECK (seconds BETWEEN 30 AND 1800),
    state text NOT NULL DEFAULT 'invited'
        CHECK (state IN ('invited', 'declined', 'expired', 'live', 'ended')),
    invited_at timestamptz NOT NULL DEFAULT now(),
    respond_by timestamptz NOT NULL,  -- an invitation not accepted by then expires
    started_at timestamptz,
    deadline timestamptz,
    ended_at timestamptz,
    ended_by text CHECK (ended_by IN ('deadline', 'challenger', 'opponent', 'offline')),
    challenger_score bigint,  -- at the end: tokens tipped to each stream in [started_at, ended_at)
    opponent_score bigint,
    winner text CHECK (winner IN ('challenger', 'opponent')),  -- NULL at the end: a tie
    CHECK (challenger_stream <> opponent_stream),
    CHECK ((state = 'live') = (started_at IS NOT NULL AND ended_at IS NULL)),
    CHECK ((state = 'ended') = (ended_at IS NOT NULL))
);
CREATE INDEX stream_duels_challenger ON stream_duels (challenger_stream, invited_at DESC);
CREATE INDEX stream_duels_opponent ON stream_duels (opponent_stream, invited_at DESC);
CREATE INDEX stream_duels_active ON stream_duels (state) WHERE state IN ('invited', 'live');
