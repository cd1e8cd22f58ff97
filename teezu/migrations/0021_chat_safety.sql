-- Chat safety, per creator (it applies in every room of their streams): what the profanity
-- classifier and the creator's banned words do to a message, and whether messages wait for a
-- moderator (held) or for a delay before anyone sees them.

CREATE TABLE chat_safety_settings (
    creator_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    profanity_action text NOT NULL DEFAULT 'off'
        CHECK (profanity_action IN ('off', 'block', 'hold', 'mask')),
    profanity_threshold real NOT NULL DEFAULT 0.8
        CHECK (profanity_threshold >= 0.05 AND profanity_threshold <= 1),
    banned_word_action text NOT NULL DEFAULT 'block'
        CHECK (banned_word_action IN ('block', 'hold', 'mask')),
    review_mode text NOT NULL DEFAULT 'off' CHECK (review_mode IN ('off', 'hold', 'delay')),
    delay_seconds integer NOT NULL DEFAULT 10 CHECK (delay_seconds BETWEEN 1 AND 300),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- normalized: api.chat.normalize.normalize_word(word), what messages are matched against;
-- unique per creator so "B4D" and "bad" are one entry.
CREATE TABLE chat_banned_words (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    word text NOT NULL CHECK (length(word) BETWEEN 1 AND 100),
    normalized text NOT NULL CHECK (length(normalized) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (creator_id, normalized)
);
CREATE INDEX chat_banned_words_page_idx ON chat_banned_words (creator_id, created_at, id);

-- A held message is stored but delivered to nobody until a moderator approves it or its delay
-- ends (release_at; NULL: waits for a moderator). Removal is deleted_at, as for any message.
ALTER TABLE chat_messages ADD COLUMN held boolean NOT NULL DEFAULT false;
ALTER TABLE chat_messages ADD COLUMN release_at timestamptz;
CREATE INDEX chat_messages_held_idx ON chat_messages (stream_id, sent_at) WHERE held;
