-- The mood strip's votes, counted per stream, minute and mood (api/engagement/strip.py adds
-- each node's accepted votes every few seconds). The admin hub's mood distribution and the
-- studio's mood history read it; live distribution itself never touches the database.
CREATE TABLE mood_votes (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    minute timestamptz NOT NULL CHECK (date_trunc('minute', minute) = minute),
    mood text NOT NULL CHECK (mood IN ('calm', 'playful', 'flirty', 'intense', 'chill',
                                       'dreamy', 'energetic', 'mysterious')),
    votes integer NOT NULL CHECK (votes > 0),
    PRIMARY KEY (stream_id, minute, mood)
);
CREATE INDEX mood_votes_minute ON mood_votes (minute);
