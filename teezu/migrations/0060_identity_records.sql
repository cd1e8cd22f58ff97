-- Performer identity records (issue 6): who is on camera, checked by a reviewer.
-- Append-only by law: records are never changed or deleted; a status change is a new review row.

CREATE FUNCTION safety_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE identity_records (
    id uuid PRIMARY KEY,
    -- RESTRICT: an account with identity records can be locked or hidden, never deleted.
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    provider text NOT NULL,
    legal_name text NOT NULL,
    date_of_birth date NOT NULL,
    aliases text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX identity_records_user_idx ON identity_records (user_id, created_at DESC);

-- ID images and the selfie, AES-GCM encrypted (the nonce is stored beside the ciphertext).
CREATE TABLE identity_documents (
    record_id uuid NOT NULL REFERENCES identity_records (id) ON DELETE RESTRICT,
    kind text NOT NULL CHECK (kind IN ('id_front', 'id_back', 'selfie')),
    content_type text NOT NULL,
    nonce bytea NOT NULL,
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (record_id, kind)
);

-- Status history: the newest row is the record's status ('pending' is written on submission).
CREATE TABLE identity_reviews (
    id bigserial PRIMARY KEY,
    record_id uuid NOT NULL REFERENCES identity_records (id) ON DELETE RESTRICT,
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewer_id uuid REFERENCES users (id) ON DELETE RESTRICT,
    reason text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX identity_reviews_record_idx ON identity_reviews (record_id, id DESC);

CREATE TRIGGER identity_records_append_only BEFORE UPDATE OR DELETE ON identity_records
    FOR EACH ROW EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER identity_documents_append_only BEFORE UPDATE OR DELETE ON identity_documents
    FOR EACH ROW EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER identity_reviews_append_only BEFORE UPDATE OR DELETE ON identity_reviews
    FOR EACH ROW EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER identity_records_no_truncate BEFORE TRUNCATE ON identity_records
    FOR EACH STATEMENT EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER identity_documents_no_truncate BEFORE TRUNCATE ON identity_documents
    FOR EACH STATEMENT EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER identity_reviews_no_truncate BEFORE TRUNCATE ON identity_reviews
    FOR EACH STATEMENT EXECUTE FUNCTION safety_append_only();
