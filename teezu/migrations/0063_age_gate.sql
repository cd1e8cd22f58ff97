-- The viewer age gate: what each jurisdiction requires before adult streams play, and the
-- viewers' own 18+ declarations (append-only).

-- requirement: 'none' (anyone), 'self_declared' (a signed-in viewer who declared 18+),
-- 'verified' (an approved identity record). country: ISO 3166-1 alpha-2, or '*' for the
-- default row; region: the ISO 3166-2 subdivision code after the dash ('TX' of 'US-TX'), or ''
-- for the whole country. Lookup: (country, region), then (country, ''), then ('*', '').
CREATE TABLE age_gate_rules (
    country text NOT NULL CHECK (country ~ '^([A-Z]{2}|\*)$'),
    region text NOT NULL DEFAULT '' CHECK (region ~ '^([A-Z0-9]{1,3})?$'),
    requirement text NOT NULL CHECK (requirement IN ('none', 'self_declared', 'verified')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (country, region),
    CHECK (country <> '*' OR region = '')
);

-- Seeded defaults: an 18+ declaration everywhere, ID-based verification where a law asks for
-- age assurance on adult sites (UK Online Safety Act, France's SREN law, Germany's JMStV,
-- Italy's AGCOM rules, US state laws). A starting point for the operator's counsel, who
-- changes rows through PUT /api/v1/admin/age-gate/rules: not legal advice.
INSERT INTO age_gate_rules (country, region, requirement) VALUES
    ('*', '', 'self_declared'),
    ('GB', '', 'verified'),
    ('FR', '', 'verified'),
    ('DE', '', 'verified'),
    ('IT', '', 'verified'),
    ('US', 'LA', 'verified'),
    ('US', 'UT', 'verified'),
    ('US', 'TX', 'verified'),
    ('US', 'VA', 'verified'),
    ('US', 'MS', 'verified'),
    ('US', 'AR', 'verified'),
    ('US', 'MT', 'verified'),
    ('US', 'NC', 'verified'),
    ('US', 'TN', 'verified'),
    ('US', 'FL', 'verified');

-- A viewer's "I am 18 or older": who, when, from where (address and the jurisdiction it
-- resolved to). Never changed or removed: a new declaration is a new row.
CREATE TABLE age_declarations (
    id bigserial PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    declared_at timestamptz NOT NULL DEFAULT now(),
    ip text NOT NULL,
    country text NOT NULL DEFAULT '',
    region text NOT NULL DEFAULT '',
    statement text NOT NULL
);
CREATE INDEX age_declarations_user_idx ON age_declarations (user_id, id DESC);
CREATE TRIGGER age_declarations_append_only BEFORE UPDATE OR DELETE ON age_declarations
    FOR EACH ROW EXECUTE FUNCTION safety_append_only();
CREATE TRIGGER age_declarations_no_truncate BEFORE TRUNCATE ON age_declarations
    FOR EACH STATEMENT EXECUTE FUNCTION safety_append_only();
