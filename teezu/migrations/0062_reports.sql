-- Reports, the moderation queue, the append-only moderation log and appeals (issue 6).

-- An account's standing: suspended (until a time) or banned accounts cannot sign in or publish.
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'suspended', 'banned'));
ALTER TABLE users ADD COLUMN suspended_until timestamptz;

-- A complaint, tracked from 'open' to 'resolved' (how: the moderation log says).
CREATE TABLE reports (
    id uuid PRIMARY KEY,
    reporter_id uuid REFERENCES users (id) ON DELETE SET NULL,
    target_type text NOT NULL CHECK (target_type IN ('stream', 'user', 'message', 'post')),
    target_id text NOT NULL,
    -- The account the complaint is about (a stream's creator, the user), when known.
    subject_id uuid REFERENCES users (id) ON DELETE SET NULL,
    reason text NOT NULL,
    details text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution text,
    resolved_at timestamptz
);
CREATE INDEX reports_open_idx ON reports (created_at) WHERE status = 'open';
CREATE INDEX reports_reporter_idx ON reports (reporter_id, created_at DESC);

CREATE TABLE appeals (
    id uuid PRIMARY KEY,
    report_id uuid NOT NULL REFERENCES reports (id),
    appellant_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'overturned')),
    decided_by uuid REFERENCES users (id) ON DELETE SET NULL,
    decided_at timestamptz
);
-- One open appeal per report at a time.
CREATE UNIQUE INDEX appeals_one_open_idx ON appeals (report_id) WHERE status = 'open';

-- Every moderation action, append-only: who did what to whom, for which report or appeal.
CREATE TABLE moderation_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_id uuid REFERENCES users (id) ON DELETE RESTRICT,
    action text NOT NULL,
    report_id uuid REFERENCES reports (id),
    appeal_id uuid REFERENCES appeals (id),
    target_type text,
    target_id text,
    subject_id uuid REFERENCES users (id) ON DELETE RESTRICT,
    note text NOT NULL DEFAULT '',
    meta jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX moderation_log_report_idx ON moderation_log (report_id, id);
CREATE INDEX moderation_log_subject_idx ON moderation_log (subject_id, id);

CREATE TRIGGER moderation_log_append_only BEFORE UPDATE OR DELETE ON moderation_log
    FOR EACH ROW EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER moderation_log_no_truncate BEFORE TRUNCATE ON moderation_log
    FOR EACH STATEMENT EXECUTE FUNCTION safety_append_only();
