-- Per-session consent (issue 6): who performs on a stream, and each performer's check-ins.

-- The creator is always a performer (streams.creator_id); these are the invited co-performers.
CREATE TABLE stream_performers (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    added_by uuid REFERENCES users (id) ON DELETE SET NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, user_id)
);
CREATE INDEX stream_performers_user_idx ON stream_performers (user_id);

-- Consent check-ins and revocations, append-only (a legal record, kept past the stream: so no
-- foreign key to streams, whose rows may be deleted). A check-in counts for the session it was
-- made in: after the stream's last broadcast ended.
CREATE TABLE consent_checkins (
    id bigserial PRIMARY KEY,
    stream_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    action text NOT NULL CHECK (action IN ('confirm', 'revoke')),
    ip text,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_checkins_stream_idx ON consent_checkins (stream_id, user_id, id DESC);

CREATE TRIGGER consent_checkins_append_only BEFORE UPDATE OR DELETE ON consent_checkins
    FOR EACH ROW EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER consent_checkins_no_truncate BEFORE TRUNCATE ON consent_checkins
    FOR EACH STATEMENT EXECUTE FUNCTION safety_append_only();
