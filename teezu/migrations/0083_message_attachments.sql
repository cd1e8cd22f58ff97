-- Direct-message attachments (an image or a short video), scanned by the moderation workers
-- before delivery: the recipient gets the message, and may fetch the file, only once the
-- verdict is 'clean'; an explicit (or flagged) one is 'held', a refused one 'rejected'.
-- message_id has no foreign key: this range of migrations runs before 0092 creates messages;
-- the direct messages' erasure deletes attachments with their messages.
CREATE TABLE message_attachments (
    id uuid PRIMARY KEY,
    message_id uuid NOT NULL UNIQUE,
    uploader_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('image', 'video')),
    content_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes > 0),
    media_key text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'clean', 'held', 'rejected')),
    scan jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    scanned_at timestamptz
);
CREATE INDEX message_attachments_pending_idx ON message_attachments (created_at)
    WHERE status = 'pending';
