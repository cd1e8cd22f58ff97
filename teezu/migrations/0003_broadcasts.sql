-- One row per broadcast (a run of a stream): which storage folder it used, and for recorded
-- broadcasts until when its VOD is kept.
CREATE TABLE broadcasts (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    run text NOT NULL CHECK (run ~ '^[0-9a-f]{8}$'),
    recording boolean NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    duration_seconds double precision,
    renditions text[] NOT NULL DEFAULT '{}',
    vod_expires_at timestamptz,
    purged_at timestamptz,
    UNIQUE (stream_id, run)
);
CREATE INDEX broadcasts_stream_idx ON broadcasts (stream_id, started_at DESC);
CREATE INDEX broadcasts_expiry_idx ON broadcasts (vod_expires_at) WHERE purged_at IS NULL;
