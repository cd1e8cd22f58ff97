CREATE TABLE streams (
    id uuid PRIMARY KEY,
    creator_handle text NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    state text NOT NULL DEFAULT 'idle' CHECK (state IN ('idle', 'live', 'ended')),
    publish_token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    ended_at timestamptz,
    heartbeat_at timestamptz,
    ingest_node text
);
CREATE INDEX streams_state_idx ON streams (state);
