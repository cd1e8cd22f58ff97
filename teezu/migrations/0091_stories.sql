-- Stories (issue 16): posts that expire. A story is a post with expires_at set (24 h after
-- upload); it is scanned like any post, left out of post lists and the feed, and shown in the
-- stories row of the creators one follows. When it expires the stories worker deletes its
-- media and row, unless the creator pinned it as a highlight.
ALTER TABLE posts ADD COLUMN expires_at timestamptz;
ALTER TABLE posts ADD COLUMN highlight boolean NOT NULL DEFAULT false;
ALTER TABLE posts ADD CONSTRAINT posts_highlight_story_chk CHECK (NOT highlight OR expires_at IS NOT NULL);
CREATE INDEX posts_story_expiry_idx ON posts (expires_at) WHERE expires_at IS NOT NULL AND NOT highlight;
CREATE INDEX posts_story_creator_idx ON posts (creator_id, created_at DESC) WHERE expires_at IS NOT NULL;

-- Who saw a story (its author's seen-by list): one row per viewer, the first time.
CREATE TABLE story_views (
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    viewer_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (post_id, viewer_id)
);
CREATE INDEX story_views_viewer_idx ON story_views (viewer_id);
