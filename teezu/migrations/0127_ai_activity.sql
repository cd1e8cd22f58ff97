-- The hub's AI activity (issue 18, the documents' eighth view): one row per request to an AI
-- feature (the API's operations tagged "ai": erotic DNA, match suggestions, vibe search, mood),
-- written in batches by the node that served it. No user id: the hub counts, it does not
-- follow anyone. A refusal is the API saying no (401, 403, 429, 451); an escalation is a
-- request the AI safety layer handed to a person (none of today's features escalate).
CREATE TABLE ai_requests (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    feature text NOT NULL,            -- the operation id (get_vibe_search, ...)
    status smallint NOT NULL,
    latency_ms real NOT NULL CHECK (latency_ms >= 0),
    refused boolean NOT NULL,
    escalated boolean NOT NULL DEFAULT false
);
CREATE INDEX ai_requests_at_idx ON ai_requests (at);

-- 8. AI activity per day and feature: requests, refusals, server errors, escalations and the
-- latency's median and 95th percentile.
CREATE MATERIALIZED VIEW hub_ai_daily AS
SELECT (at AT TIME ZONE 'UTC')::date AS day, feature,
    count(*) AS requests,
    count(*) FILTER (WHERE refused) AS refusals,
    count(*) FILTER (WHERE status >= 500) AS errors,
    count(*) FILTER (WHERE escalated) AS escalations,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms
FROM ai_requests
GROUP BY 1, 2;
CREATE UNIQUE INDEX hub_ai_daily_key ON hub_ai_daily (day, feature);
