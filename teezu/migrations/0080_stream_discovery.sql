-- Discover and the watch room: what a creator says about a stream (tags, spoken language) and
-- the mood colour they pick in stream settings (one of eight; the room's player glows in it).
ALTER TABLE streams
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN language text CHECK (language ~ '^[a-z]{2}$'),
    ADD COLUMN mood text CHECK (mood IN ('calm', 'playful', 'flirty', 'intense', 'chill',
                                         'dreamy', 'energetic', 'mysterious'));

CREATE INDEX streams_tags ON streams USING gin (tags);
-- Title and creator search on live streams (ILIKE '%...%' without a trigram index: the live
-- list is small; the state filter comes first).
CREATE INDEX streams_live_created ON streams (created_at DESC) WHERE state = 'live';
