-- Direct messages (issue 16): one-to-one conversations between members and creators.
-- member_a < member_b, one conversation per pair. A participant erased under GDPR becomes NULL
-- (the other side keeps their own words; the erased side's messages are deleted).
CREATE TABLE conversations (
    id uuid PRIMARY KEY,
    member_a uuid REFERENCES users (id) ON DELETE SET NULL,
    member_b uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    CHECK (member_a < member_b)
);
CREATE UNIQUE INDEX conversations_pair_idx ON conversations (member_a, member_b);
CREATE INDEX conversations_a_idx ON conversations (member_a, last_message_at DESC);
CREATE INDEX conversations_b_idx ON conversations (member_b, last_message_at DESC);

-- read_state: 'sent' until the recipient reads it ('read', read_at set).
CREATE TABLE messages (
    id uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    metadata jsonb NOT NULL DEFAULT '{}',   -- {"masked": true} when the filter starred words
    read_state text NOT NULL DEFAULT 'sent' CHECK (read_state IN ('sent', 'read')),
    read_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((read_state = 'read') = (read_at IS NOT NULL))
);
CREATE INDEX messages_history_idx ON messages (conversation_id, created_at DESC, id DESC);
CREATE INDEX messages_unread_idx ON messages (conversation_id, sender_id) WHERE read_state = 'sent';
CREATE INDEX messages_sender_idx ON messages (sender_id);
