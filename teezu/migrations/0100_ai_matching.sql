-- AI matching (issue 17): the Erotic DNA quiz per member, swipes, mutual matches, and the text
-- embeddings behind vibe search. pgvector ships in the embedded PostgreSQL.
CREATE EXTENSION IF NOT EXISTS vector;

-- The quiz answers (preference key -> intensity 0..3), the profile over the 8 moods they make
-- (unit length: cosine distance is the HNSW metric), and what the member shares for matching.
CREATE TABLE erotic_dna (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    answers jsonb NOT NULL,
    profile vector(8) NOT NULL,
    languages text[] NOT NULL DEFAULT '{}',
    country text CHECK (country ~ '^[A-Z]{2}$'),
    discoverable boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erotic_dna_profile_hnsw ON erotic_dna USING hnsw (profile vector_cosine_ops);

-- One decision per (swiper, target); a later swipe replaces the earlier one.
CREATE TABLE match_swipes (
    swiper_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    action text NOT NULL CHECK (action IN ('like', 'pass')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (swiper_id, target_id),
    CHECK (swiper_id <> target_id)
);
CREATE INDEX match_swipes_target_idx ON match_swipes (target_id, action);

-- A mutual like, once per pair (user_a < user_b).
CREATE TABLE matches (
    id uuid PRIMARY KEY,
    user_a uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_b uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    match_score real NOT NULL CHECK (match_score BETWEEN 0 AND 1),
    matched_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'unmatched')),
    UNIQUE (user_a, user_b),
    CHECK (user_a < user_b)
);
CREATE INDEX matches_user_b_idx ON matches (user_b);

-- Blocks are user_blocks (0090, issue 16): suggestions leave out blocks in either direction.

-- Text embeddings for vibe search: one row per (kind, thing), with the model that made it and
-- a hash of the text it was made from; a row whose model or text changed is embedded again.
CREATE TABLE ai_embeddings (
    kind text NOT NULL CHECK (kind IN ('stream', 'creator', 'post')),
    ref_id uuid NOT NULL,
    owner_id uuid REFERENCES users (id) ON DELETE CASCADE,
    model text NOT NULL,
    text_hash text NOT NULL,
    embedding vector(512) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, ref_id)
);
CREATE INDEX ai_embeddings_hnsw ON ai_embeddings USING hnsw (embedding vector_cosine_ops);
CREATE INDEX ai_embeddings_owner_idx ON ai_embeddings (owner_id);
