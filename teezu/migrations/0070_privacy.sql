-- GDPR (issue 6): data exports and account erasure. See api/privacy/.

-- An erased account keeps a pseudonymised row (ledger accounts, identity and consent records and
-- the moderation log still reference it), with this status: it can never sign in again.
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check
    CHECK (status IN ('active', 'suspended', 'banned', 'erased'));

-- One export job per request; the zip lives in storage under privacy-exports/{user_id}/.
CREATE TABLE privacy_exports (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'failed')),
    progress int NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    storage_key text,
    size_bytes bigint,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz,
    CHECK ((status = 'done') = (storage_key IS NOT NULL))
);
CREATE INDEX privacy_exports_user_idx ON privacy_exports (user_id, created_at DESC);
-- At most one export per user is being made at a time (the insert is the rate limit).
CREATE UNIQUE INDEX privacy_exports_one_running_idx ON privacy_exports (user_id)
    WHERE status IN ('pending', 'running');

-- The record that an account was erased: when, on whose request, until when the retained
-- records must be kept, and the clean-up outside PostgreSQL (storage, Redis) still to do.
CREATE TABLE privacy_erasures (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE RESTRICT,
    erased_at timestamptz NOT NULL DEFAULT now(),
    by_admin boolean NOT NULL,
    retain_until timestamptz NOT NULL,
    cleanup jsonb NOT NULL DEFAULT '{}',
    cleaned_at timestamptz
);
CREATE INDEX privacy_erasures_pending_idx ON privacy_erasures (erased_at) WHERE cleaned_at IS NULL;
