-- Issue 16, the social half: per-user blocks, comments and likes on posts.

-- A member blocks another account: neither sees the other's posts and comments in the feed
-- (and, later, in direct messages). One row per direction the blocker chose.
CREATE TABLE user_blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX user_blocks_blocked_idx ON user_blocks (blocked_id);

-- Comments on a post, threaded one level: a reply's parent is a top-level comment of the same
-- post (checked by the application under the parent's row lock). Removal keeps the row (a
-- reply under it still reads in context) with the body emptied: deleted_by says who removed it
-- ('author', 'creator' or 'moderator').
CREATE TABLE post_comments (
    id uuid PRIMARY KEY,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- NULL once the author's account is erased and others had replied to the comment (its
    -- text is gone; the row stays so the replies keep their thread).
    author_id uuid REFERENCES users (id) ON DELETE SET NULL,
    parent_id uuid REFERENCES post_comments (id) ON DELETE CASCADE,
    body text NOT NULL CHECK (length(body) <= 1000),
    masked boolean NOT NULL DEFAULT false,   -- the chat filter starred words in it
    held boolean NOT NULL DEFAULT false,     -- the filter holds it for the creator or a moderator
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by text CHECK (deleted_by IN ('author', 'creator', 'moderator')),
    CHECK ((deleted_at IS NULL) = (deleted_by IS NULL))
);
CREATE INDEX post_comments_thread_idx ON post_comments (post_id, parent_id, created_at, id);
CREATE INDEX post_comments_author_idx ON post_comments (author_id);

-- Likes: one row per (post, member), so a repeated like is a no-op (idempotent).
CREATE TABLE post_likes (
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX post_likes_user_idx ON post_likes (user_id);

-- Counts without a hot row: each like or comment adds +1/-1 to one of 16 slots of its post
-- (chosen at random), so concurrent likes of one post rarely wait on one another's row lock;
-- a post's count is the sum of its slots. Written in the same transaction as the like row, so
-- the sum equals count(post_likes) at every commit.
CREATE TABLE post_counter_slots (
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    slot smallint NOT NULL CHECK (slot BETWEEN 0 AND 15),
    likes bigint NOT NULL DEFAULT 0,
    comments bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, slot)
);

-- Reports may name a comment.
ALTER TABLE reports DROP CONSTRAINT reports_target_type_check;
ALTER TABLE reports ADD CONSTRAINT reports_target_type_check
    CHECK (target_type IN ('stream', 'user', 'message', 'post', 'comment'));

-- The feed: published posts by recency across creators (recommendations), and per creator
-- (followed and subscribed creators; posts_creator_idx already covers creator_id, created_at).
CREATE INDEX posts_published_recent_idx ON posts (created_at DESC, id DESC)
    WHERE status = 'published';
