-- Dynamic milestones (several per stream, each reached and announced once) and the reactive
-- avatar's state per stream (api/engagement/reactions.py).
CREATE TABLE stream_milestones (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 80),
    target bigint NOT NULL CHECK (target > 0),  -- tokens tipped to the stream since created_at
    created_at timestamptz NOT NULL DEFAULT now(),
    reached_at timestamptz,  -- set once, by one conditional UPDATE
    UNIQUE (stream_id, target)
);
CREATE INDEX stream_milestones_open ON stream_milestones (stream_id) WHERE reached_at IS NULL;

CREATE TABLE stream_avatars (
    stream_id uuid PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    happy_at bigint NOT NULL DEFAULT 1,  -- a single tip's tokens for each state
    excited_at bigint NOT NULL DEFAULT 50,
    wow_at bigint NOT NULL DEFAULT 200,
    state text NOT NULL DEFAULT 'idle' CHECK (state IN ('idle', 'happy', 'excited', 'wow')),
    until timestamptz,
    version bigint NOT NULL DEFAULT 0,  -- each change bumps it (a change is made once)
    CHECK (0 < happy_at AND happy_at < excited_at AND excited_at < wow_at)
);
