-- Trending moments (api/engagement/moments.py): when a room's engagement heat jumps, the
-- moment is written once per stream and cooldown window, whichever API node saw the burst
-- first (the unique (stream_id, bucket)); each is also a DATERANGE on the stream's timeline.
CREATE TABLE stream_moments (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    bucket bigint NOT NULL,  -- floor(epoch seconds / cooldown): one moment per window
    at timestamptz NOT NULL DEFAULT now(),
    heat real NOT NULL CHECK (heat > 0),
    UNIQUE (stream_id, bucket)
);
CREATE INDEX stream_moments_stream ON stream_moments (stream_id, at);
