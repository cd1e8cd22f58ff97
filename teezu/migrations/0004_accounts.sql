-- Accounts: users, their roles, server-side sessions, TOTP, profiles, follows and the audit log.
-- citext is not needed: emails and handles are stored lower-cased by the application.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    handle text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9_]{3,30}$'),
    password_hash text NOT NULL,
    date_of_birth date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    -- TOTP: a secret being enrolled is stored until verified; totp_enabled turns it on.
    totp_secret text,
    totp_enabled boolean NOT NULL DEFAULT false,
    totp_last_step bigint NOT NULL DEFAULT 0  -- the last accepted time step: no replay
);

-- The RBAC matrix lives in api/auth/rbac.py; these rows mirror it (synced at every start) so
-- that SQL can join on roles and the audit log names real rows.
CREATE TABLE roles (name text PRIMARY KEY);
CREATE TABLE permissions (name text PRIMARY KEY);
CREATE TABLE role_permissions (
    role text NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    permission text NOT NULL REFERENCES permissions (name) ON DELETE CASCADE,
    PRIMARY KEY (role, permission)
);
INSERT INTO roles (name) VALUES ('viewer'), ('member'), ('member_plus'), ('provider'),
    ('creator'), ('moderator'), ('admin'), ('super_admin');
CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL REFERENCES roles (name),
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by uuid REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (user_id, role)
);

-- A session row per login; the cookie holds a random id, the row only its SHA-256.
CREATE TABLE sessions (
    id_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    ip text,
    user_agent text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- The second step of a login with 2FA on: a short-lived challenge (hashed, like sessions).
CREATE TABLE login_challenges (
    id_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    attempts int NOT NULL DEFAULT 0
);

-- Failed logins per account ("user:<id>") and per IP ("ip:<addr>"): exponential back-off.
CREATE TABLE login_throttle (
    key text PRIMARY KEY,
    failures int NOT NULL,
    last_failure_at timestamptz NOT NULL
);

CREATE TABLE profiles (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name text NOT NULL DEFAULT '' CHECK (length(display_name) <= 60),
    bio text NOT NULL DEFAULT '' CHECK (length(bio) <= 1000),
    avatar_version int NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Re-encoded avatar images (metadata stripped), one row per size.
CREATE TABLE avatars (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    size int NOT NULL,
    content_type text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (user_id, size)
);

CREATE TABLE follows (
    follower_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, creator_id),
    CHECK (follower_id <> creator_id)
);
CREATE INDEX follows_creator_idx ON follows (creator_id, created_at DESC);

-- Append-only record of auth events and of admin actions on other people's data.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    action text NOT NULL,
    subject_id uuid REFERENCES users (id) ON DELETE SET NULL,
    target text,
    ip text,
    meta jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);
