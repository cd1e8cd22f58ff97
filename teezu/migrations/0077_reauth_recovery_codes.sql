-- Re-authentication: when the session's owner last confirmed their password (sign-in counts).
-- Enrolling or disabling 2FA, changing the e-mail address and regenerating recovery codes need
-- a confirmation within TEEZU_REAUTH_WINDOW seconds (api/auth/routes.py).
ALTER TABLE sessions ADD COLUMN confirmed_at timestamptz NOT NULL DEFAULT now();

-- 2FA recovery codes (api/auth/recovery.py): one-time, stored as SHA-256 only.
CREATE TABLE two_factor_recovery_codes (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);
