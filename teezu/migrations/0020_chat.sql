-- Chat: history, per-room settings, bans/timeouts and a log of moderation actions.
-- Users are referenced by uuid without a foreign key: the accounts tables live in another
-- migration set (issue 4, REST half), and chat rows must survive an account's deletion anyway
-- (the handle is kept with each message, as it was when sent).

CREATE TABLE chat_messages (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    handle text NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    sent_at timestamptz NOT NULL,
    deleted_at timestamptz,
    deleted_by uuid
);
-- History pages walk one room backwards in time: (sent_at, id) is the keyset.
CREATE INDEX chat_messages_room_idx ON chat_messages (stream_id, sent_at DESC, id DESC);

CREATE TABLE chat_rooms (
    stream_id uuid PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    slow_mode_seconds integer NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 3600),
    followers_only boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid
);

-- A ban removes the user from the room and keeps them out (until NULL: for good); a timeout
-- lets them read but not send until it ends. Both can exist at once.
CREATE TABLE chat_restrictions (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('ban', 'timeout')),
    until timestamptz,
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, user_id, kind),
    CHECK (kind = 'ban' OR until IS NOT NULL)
);

CREATE TABLE chat_moderation_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    actor_id uuid NOT NULL,
    action text NOT NULL,
    target_user_id uuid,
    message_id uuid,
    meta jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX chat_moderation_log_room_idx ON chat_moderation_log (stream_id, at DESC);
