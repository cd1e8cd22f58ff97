-- Streams belong to a user account. Streams made before accounts (or by `teezu streams create`
-- for a handle with no account) keep only their creator_handle; those whose handle matches an
-- account are linked to it.
ALTER TABLE streams ADD COLUMN creator_id uuid REFERENCES users (id) ON DELETE SET NULL;
UPDATE streams s SET creator_id = u.id FROM users u WHERE u.handle = s.creator_handle;
CREATE INDEX streams_creator_idx ON streams (creator_id, created_at DESC);
