-- Mood analysis (issue 17): each chat message's mood, polarity and intensity, and the room's
-- mood per minute (what the watch room's mood strip and the hub read).
CREATE TABLE chat_message_moods (
    message_id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    mood text NOT NULL CHECK (mood IN ('calm', 'playful', 'flirty', 'intense', 'chill',
                                       'dreamy', 'energetic', 'mysterious')),
    polarity real NOT NULL CHECK (polarity BETWEEN -1 AND 1),
    intensity real NOT NULL CHECK (intensity BETWEEN 0 AND 1),
    at timestamptz NOT NULL
);
CREATE INDEX chat_message_moods_user_idx ON chat_message_moods (user_id, at DESC);
CREATE INDEX chat_message_moods_stream_idx ON chat_message_moods (stream_id, at);

-- Per room, minute and mood: how many messages, and the sums of their polarity and intensity.
CREATE TABLE room_moods (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    minute timestamptz NOT NULL,
    mood text NOT NULL,
    messages integer NOT NULL,
    polarity_sum double precision NOT NULL,
    intensity_sum double precision NOT NULL,
    PRIMARY KEY (stream_id, minute, mood)
);
