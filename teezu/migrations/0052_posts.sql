-- Posts (issue 6's uploads): an image or short video by a creator, held 'pending' until the
-- moderation workers scanned it, then 'published', held for 'review', or 'rejected'.

CREATE TABLE posts (
    id uuid PRIMARY KEY,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('image', 'video')),
    content_type text NOT NULL,          -- sniffed from the bytes, never the client's word
    caption text NOT NULL DEFAULT '',
    -- Who may see it. Subscriber-only posts come with subscriptions (api/posts/access.py).
    audience text NOT NULL CHECK (audience IN ('public', 'followers')),
    rating text NOT NULL DEFAULT 'adult' CHECK (rating IN ('sfw', 'adult')),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'published', 'review', 'rejected')),
    explicit boolean NOT NULL DEFAULT false,  -- the scan saw explicit content: blurred preview
    size_bytes bigint NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    duration double precision,           -- seconds (videos)
    media_key text NOT NULL,             -- storage key of the upload (served only via the API)
    preview_key text,                    -- sharp preview JPEG, once scanned
    blurred_key text,                    -- blurred preview JPEG, once scanned
    scan jsonb,                          -- the scan's decision: detections, matches, policy
    scan_attempts integer NOT NULL DEFAULT 0,
    claimed_by text,                     -- the node scanning it (claims go stale)
    claimed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    scanned_at timestamptz,
    published_at timestamptz
);
CREATE INDEX posts_pending_idx ON posts (created_at) WHERE status = 'pending';
CREATE INDEX posts_creator_idx ON posts (creator_id, created_at DESC);

-- Flags may be about a post instead of a live stream.
ALTER TABLE moderation_flags ALTER COLUMN stream_id DROP NOT NULL;
ALTER TABLE moderation_flags ADD COLUMN post_id uuid REFERENCES posts (id) ON DELETE CASCADE;
ALTER TABLE moderation_flags DROP CONSTRAINT moderation_flags_kind_check;
ALTER TABLE moderation_flags ADD CONSTRAINT moderation_flags_kind_check
    CHECK (kind IN ('frame', 'freeze', 'post'));
ALTER TABLE moderation_flags ADD CONSTRAINT moderation_flags_subject_chk
    CHECK ((stream_id IS NULL) <> (post_id IS NULL));
