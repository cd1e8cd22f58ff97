-- Error tracking (issue 18): unhandled errors grouped by signature (the exception's type and
-- the functions it passed through), with counts and the last request ids, written by each node
-- in batches and shown in the admin hub. One row per signature; the counts only grow.
CREATE TABLE error_groups (
    signature text PRIMARY KEY,
    error_type text NOT NULL,
    message text NOT NULL,            -- the latest occurrence's, cut to 500 characters
    location text NOT NULL,           -- the innermost frame: module:function
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    count bigint NOT NULL CHECK (count > 0),
    last_request_ids text[] NOT NULL  -- newest first, at most 5
);
CREATE INDEX error_groups_last_seen_idx ON error_groups (last_seen DESC);
