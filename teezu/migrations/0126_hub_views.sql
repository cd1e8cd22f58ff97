-- The admin hub's materialized views (issue 18). Each has a unique index, so the analytics
-- worker refreshes it CONCURRENTLY (readers are never blocked); `hub_refreshes` records when
-- each was last refreshed and how long it took, so every answer can say how fresh it is.
-- Days are UTC days.

CREATE TABLE hub_refreshes (
    view text PRIMARY KEY,
    refreshed_at timestamptz NOT NULL,
    seconds double precision NOT NULL
);

-- Who did something on a day: watched, paid or tipped, chatted (the base of growth/retention).
CREATE MATERIALIZED VIEW hub_activity_daily AS
SELECT user_id, day FROM (
    SELECT viewer_id AS user_id, (joined_at AT TIME ZONE 'UTC')::date AS day
        FROM stream_viewers WHERE viewer_id IS NOT NULL
    UNION
    SELECT initiator_id, (created_at AT TIME ZONE 'UTC')::date
        FROM ledger_transactions WHERE initiator_id IS NOT NULL
    UNION
    SELECT user_id, (sent_at AT TIME ZONE 'UTC')::date FROM chat_messages
) a;
CREATE UNIQUE INDEX hub_activity_daily_key ON hub_activity_daily (user_id, day);
CREATE INDEX hub_activity_daily_day ON hub_activity_daily (day);

-- 1. growth: sign-ups, daily/weekly/monthly active users, creators going live.
-- A user active on day x counts in the WAU of days x..x+6 and the MAU of x..x+29; each activity
-- row adds only the days its previous one did not already cover, so nobody counts twice.
CREATE MATERIALIZED VIEW hub_growth_daily AS
WITH act AS (
    SELECT user_id, day, lag(day) OVER (PARTITION BY user_id ORDER BY day) AS prev
    FROM hub_activity_daily
), wau AS (
    SELECT g::date AS day, count(*) AS n FROM act,
        generate_series(GREATEST(day, coalesce(prev + 7, day))::timestamp,
                        (day + 6)::timestamp, interval '1 day') g
    GROUP BY 1
), mau AS (
    SELECT g::date AS day, count(*) AS n FROM act,
        generate_series(GREATEST(day, coalesce(prev + 30, day))::timestamp,
                        (day + 29)::timestamp, interval '1 day') g
    GROUP BY 1
), days AS (
    SELECT g::date AS day FROM generate_series(
        (SELECT coalesce(min(created_at AT TIME ZONE 'UTC'), now())::date FROM users)::timestamp,
        (now() AT TIME ZONE 'UTC')::date::timestamp, interval '1 day') g
)
SELECT d.day,
    coalesce((SELECT count(*) FROM users u
              WHERE (u.created_at AT TIME ZONE 'UTC')::date = d.day), 0) AS signups,
    coalesce((SELECT count(*) FROM hub_activity_daily a WHERE a.day = d.day), 0) AS dau,
    coalesce(w.n, 0) AS wau,
    coalesce(m.n, 0) AS mau,
    coalesce((SELECT count(DISTINCT s.creator_id) FROM broadcasts b JOIN streams s ON s.id = b.stream_id
              WHERE b.started_at >= d.day::timestamp AT TIME ZONE 'UTC'
                AND b.started_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'), 0) AS creators_live
FROM days d LEFT JOIN wau w ON w.day = d.day LEFT JOIN mau m ON m.day = d.day;
CREATE UNIQUE INDEX hub_growth_daily_key ON hub_growth_daily (day);
CREATE INDEX users_created_day_idx ON users (((created_at AT TIME ZONE 'UTC')::date));
CREATE INDEX broadcasts_started_idx ON broadcasts (started_at);

-- 2. retention: weekly cohorts by sign-up week; week 0 is the sign-up week.
CREATE MATERIALIZED VIEW hub_retention_weekly AS
WITH cohort AS (
    SELECT id, date_trunc('week', created_at AT TIME ZONE 'UTC')::date AS week FROM users
), size AS (
    SELECT week, count(*) AS users FROM cohort GROUP BY week
)
SELECT c.week AS cohort, ((date_trunc('week', a.day)::date - c.week) / 7) AS week_offset,
    s.users AS cohort_size, count(DISTINCT a.user_id) AS active
FROM cohort c JOIN hub_activity_daily a ON a.user_id = c.id AND a.day >= c.week
JOIN size s ON s.week = c.week
GROUP BY c.week, 2, s.users;
CREATE UNIQUE INDEX hub_retention_weekly_key ON hub_retention_weekly (cohort, week_offset);

-- 3. revenue: every token flow per day, by transaction kind, account kind and (for captured
-- holds) what the hold was for. Purchases, tips, subscriptions, shows, platform fees, payouts
-- and chargebacks are sums of these rows; summed over all days they are `teezu ledger check`'s
-- figures (tests/integration/test_hub.py proves it).
CREATE MATERIALIZED VIEW hub_revenue_daily AS
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day, t.kind AS tx_kind, a.kind AS account_kind,
    coalesce(h.purpose, '') AS purpose, sum(e.amount)::bigint AS total, count(*) AS entries
FROM ledger_entries e
JOIN ledger_transactions t ON t.id = e.tx_id
JOIN ledger_accounts a ON a.id = e.account_id
LEFT JOIN ledger_holds h ON h.id = t.hold_id
GROUP BY 1, 2, 3, 4;
CREATE UNIQUE INDEX hub_revenue_daily_key ON hub_revenue_daily (day, tx_kind, account_kind, purpose);

-- 4. creators: earnings, watch hours, followers, conversion (viewers who tipped / viewers).
CREATE MATERIALIZED VIEW hub_creators AS
WITH earn AS (
    SELECT a.owner_id AS creator_id, sum(e.amount)::bigint AS earned
    FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
    JOIN ledger_transactions t ON t.id = e.tx_id
    WHERE a.kind = 'earnings' AND t.kind IN ('tip', 'hold_capture', 'tip_reversal', 'subscription')
    GROUP BY a.owner_id
), watch AS (
    SELECT s.creator_id, sum(v.watch_seconds) AS seconds, count(DISTINCT v.viewer_id) AS viewers
    FROM stream_viewers v JOIN streams s ON s.id = v.stream_id
    WHERE s.creator_id IS NOT NULL GROUP BY s.creator_id
), tipped AS (
    SELECT DISTINCT s.creator_id, t.initiator_id AS uid
    FROM ledger_transactions t JOIN streams s ON s.id = t.stream_id
    WHERE t.kind = 'tip' AND s.creator_id IS NOT NULL AND t.initiator_id IS NOT NULL
), watched AS (
    SELECT DISTINCT s.creator_id, v.viewer_id AS uid
    FROM stream_viewers v JOIN streams s ON s.id = v.stream_id
    WHERE s.creator_id IS NOT NULL AND v.viewer_id IS NOT NULL
), tippers AS (
    SELECT creator_id, count(*) AS tippers FROM tipped GROUP BY creator_id
), converted AS (
    SELECT creator_id, count(*) AS n FROM watched JOIN tipped USING (creator_id, uid)
    GROUP BY creator_id
), fans AS (
    SELECT creator_id, count(*) AS followers FROM follows GROUP BY creator_id
), creators AS (
    SELECT creator_id FROM earn UNION SELECT creator_id FROM watch
    UNION SELECT creator_id FROM fans
)
SELECT c.creator_id, u.handle,
    coalesce(e.earned, 0) AS earned,
    coalesce(w.seconds, 0) / 3600.0 AS watch_hours,
    coalesce(f.followers, 0) AS followers,
    coalesce(w.viewers, 0) AS viewers,
    coalesce(tp.tippers, 0) AS tippers,
    -- conversion: the share of signed-in viewers who tipped the creator
    CASE WHEN coalesce(w.viewers, 0) > 0
         THEN coalesce(cv.n, 0)::float8 / w.viewers ELSE 0 END AS conversion
FROM creators c JOIN users u ON u.id = c.creator_id
LEFT JOIN earn e ON e.creator_id = c.creator_id
LEFT JOIN watch w ON w.creator_id = c.creator_id
LEFT JOIN tippers tp ON tp.creator_id = c.creator_id
LEFT JOIN converted cv ON cv.creator_id = c.creator_id
LEFT JOIN fans f ON f.creator_id = c.creator_id;
CREATE UNIQUE INDEX hub_creators_key ON hub_creators (creator_id);
CREATE INDEX hub_creators_earned ON hub_creators (earned DESC);

-- 5. streams: peak and average viewers, watch time, tips per minute, QoE, per stream.
-- The peak is a sweep over joins (+1) and leaves (-1) in time order.
CREATE MATERIALIZED VIEW hub_streams AS
WITH moves AS (
    SELECT stream_id, joined_at AS at, 1 AS d FROM stream_viewers
    UNION ALL
    SELECT stream_id, coalesce(left_at, last_seen_at), -1 FROM stream_viewers
), running AS (
    SELECT stream_id, sum(d) OVER (PARTITION BY stream_id ORDER BY at, d DESC
                                   ROWS UNBOUNDED PRECEDING) AS n
    FROM moves
), peak AS (
    SELECT stream_id, max(n) AS peak FROM running GROUP BY stream_id
), watch AS (
    SELECT stream_id, count(*) AS sessions, sum(watch_seconds) AS seconds,
        count(DISTINCT coalesce(viewer_id::text, anonymous_id, id::text)) AS viewers,
        min(joined_at) AS first_join
    FROM stream_viewers GROUP BY stream_id
), live AS (
    SELECT stream_id, sum(coalesce(duration_seconds,
        extract(epoch FROM coalesce(ended_at, now()) - started_at))) AS seconds,
        min(started_at) AS first_live
    FROM broadcasts GROUP BY stream_id
), tips AS (
    SELECT t.stream_id, count(*) AS tips, sum(e.amount)::bigint AS tokens
    FROM ledger_transactions t JOIN ledger_entries e ON e.tx_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id
    WHERE t.kind = 'tip' AND a.kind IN ('earnings', 'platform', 'chargeback_reserve')
    GROUP BY t.stream_id
), qoe AS (
    SELECT stream_id, sum(beacons) AS beacons,
        sum(latency_sum) / nullif(sum(latency_count), 0) AS latency,
        max(latency_max) AS latency_max, sum(stalls) AS stalls,
        sum(stall_seconds) AS stall_seconds, sum(bitrate_switches) AS switches,
        sum(startup_ms_sum) / nullif(sum(startup_count), 0) AS startup_ms
    FROM stream_qoe_minutes GROUP BY stream_id
)
SELECT s.id AS stream_id, s.creator_id, s.title,
    coalesce(l.first_live, w.first_join, s.created_at) AS started_at,
    coalesce(l.seconds, 0) AS live_seconds,
    coalesce(w.sessions, 0) AS sessions, coalesce(w.viewers, 0) AS viewers,
    coalesce(p.peak, 0) AS peak_viewers,
    CASE WHEN coalesce(l.seconds, 0) > 0 THEN coalesce(w.seconds, 0) / l.seconds ELSE 0 END
        AS average_viewers,
    coalesce(w.seconds, 0) AS watch_seconds,
    coalesce(t.tips, 0) AS tips, coalesce(t.tokens, 0) AS tip_tokens,
    CASE WHEN coalesce(l.seconds, 0) > 0 THEN coalesce(t.tips, 0) * 60.0 / l.seconds ELSE 0 END
        AS tips_per_minute,
    coalesce(q.beacons, 0) AS beacons, q.latency, q.latency_max, coalesce(q.stalls, 0) AS stalls,
    coalesce(q.stall_seconds, 0) AS stall_seconds, coalesce(q.switches, 0) AS bitrate_switches,
    q.startup_ms
FROM streams s
LEFT JOIN live l ON l.stream_id = s.id
LEFT JOIN watch w ON w.stream_id = s.id
LEFT JOIN peak p ON p.stream_id = s.id
LEFT JOIN tips t ON t.stream_id = s.id
LEFT JOIN qoe q ON q.stream_id = s.id
WHERE l.stream_id IS NOT NULL OR w.stream_id IS NOT NULL;
CREATE UNIQUE INDEX hub_streams_key ON hub_streams (stream_id);
CREATE INDEX hub_streams_started ON hub_streams (started_at);
CREATE INDEX ledger_transactions_stream_idx ON ledger_transactions (stream_id) WHERE stream_id IS NOT NULL;

-- 6. mood: watch time per day by the mood the creator set for the room (the eight moods),
-- per creator and per room. (Chat-message moods join here once the AI work writes them.)
CREATE MATERIALIZED VIEW hub_mood_daily AS
SELECT (v.joined_at AT TIME ZONE 'UTC')::date AS day, s.creator_id, s.id AS stream_id,
    coalesce(s.mood, 'none') AS mood, count(*) AS sessions, sum(v.watch_seconds) AS watch_seconds
FROM stream_viewers v JOIN streams s ON s.id = v.stream_id
GROUP BY 1, 2, 3, 4;
CREATE UNIQUE INDEX hub_mood_daily_key ON hub_mood_daily (day, stream_id, mood);

-- 7. community health per day: reports opened and resolved (and hours to resolve), flags,
-- appeals, bans, identity records submitted. Open complaints and their ages are read live
-- (reports_open_idx keeps that cheap).
CREATE MATERIALIZED VIEW hub_community_daily AS
WITH days AS (
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day FROM reports
    UNION SELECT (resolved_at AT TIME ZONE 'UTC')::date FROM reports WHERE resolved_at IS NOT NULL
    UNION SELECT (created_at AT TIME ZONE 'UTC')::date FROM moderation_flags
    UNION SELECT (created_at AT TIME ZONE 'UTC')::date FROM appeals
    UNION SELECT (created_at AT TIME ZONE 'UTC')::date FROM identity_records
)
SELECT d.day,
    (SELECT count(*) FROM reports r WHERE (r.created_at AT TIME ZONE 'UTC')::date = d.day)
        AS reports_opened,
    (SELECT count(*) FROM reports r WHERE (r.resolved_at AT TIME ZONE 'UTC')::date = d.day)
        AS reports_resolved,
    (SELECT avg(extract(epoch FROM r.resolved_at - r.created_at)) / 3600 FROM reports r
        WHERE (r.resolved_at AT TIME ZONE 'UTC')::date = d.day) AS hours_to_resolve,
    (SELECT count(*) FROM reports r WHERE (r.resolved_at AT TIME ZONE 'UTC')::date = d.day
        AND r.resolution = 'ban') AS bans,
    (SELECT count(*) FROM moderation_flags f WHERE (f.created_at AT TIME ZONE 'UTC')::date = d.day)
        AS flags,
    (SELECT count(*) FROM appeals a WHERE (a.created_at AT TIME ZONE 'UTC')::date = d.day)
        AS appeals,
    (SELECT count(*) FROM identity_records i WHERE (i.created_at AT TIME ZONE 'UTC')::date = d.day)
        AS verifications
FROM days d;
CREATE UNIQUE INDEX hub_community_daily_key ON hub_community_daily (day);
