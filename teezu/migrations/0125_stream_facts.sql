-- Facts the admin hub reads (issue 18): viewing sessions, stream events and QoE per minute.

-- One row per viewing session: an LL-HLS session starts when a player asks for a playback
-- token or a viewing session, and grows by its beacons (credited no faster than the server's
-- clock runs); a WHEP session is timed by the server from its first packet to its end.
CREATE TABLE stream_viewers (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    viewer_id uuid REFERENCES users (id) ON DELETE SET NULL,  -- NULL: anonymous
    anonymous_id text,
    kind text NOT NULL CHECK (kind IN ('llhls', 'whep')),
    country text NOT NULL DEFAULT '',  -- ISO 3166-1 alpha-2, '' unknown
    joined_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    last_beacon_at timestamptz,
    left_at timestamptz,
    watch_seconds double precision NOT NULL DEFAULT 0 CHECK (watch_seconds >= 0),
    beacons integer NOT NULL DEFAULT 0
);
CREATE INDEX stream_viewers_stream_idx ON stream_viewers (stream_id, joined_at);
CREATE INDEX stream_viewers_joined_idx ON stream_viewers (joined_at);
CREATE INDEX stream_viewers_open_idx ON stream_viewers (last_seen_at) WHERE left_at IS NULL;

-- Append-only: what happened to a broadcast, when.
CREATE TABLE stream_events (
    id bigserial PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('start', 'end', 'freeze', 'unfreeze', 'goal_reached',
                                       'show_start', 'show_end')),
    at timestamptz NOT NULL DEFAULT now(),
    meta jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX stream_events_stream_idx ON stream_events (stream_id, at);
CREATE INDEX stream_events_at_idx ON stream_events (at);

CREATE FUNCTION stream_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stream_events is append-only';
END $$;
CREATE TRIGGER stream_events_no_update BEFORE UPDATE OR DELETE ON stream_events
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION stream_events_append_only();

-- Events are written by triggers in the transaction that changes the state, so no code path
-- that starts, ends, freezes or completes something can forget them.
CREATE FUNCTION stream_events_from_streams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'live' AND OLD.state IS DISTINCT FROM 'live' THEN
        INSERT INTO stream_events (stream_id, kind) VALUES (NEW.id, 'start');
    ELSIF OLD.state = 'live' AND NEW.state IS DISTINCT FROM 'live' THEN
        INSERT INTO stream_events (stream_id, kind) VALUES (NEW.id, 'end');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER streams_events AFTER UPDATE OF state ON streams
    FOR EACH ROW EXECUTE FUNCTION stream_events_from_streams();

CREATE FUNCTION stream_events_from_safety() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.frozen AND (TG_OP = 'INSERT' OR NOT OLD.frozen) THEN
        INSERT INTO stream_events (stream_id, kind, meta)
        VALUES (NEW.stream_id, 'freeze', jsonb_build_object('reason', NEW.frozen_reason));
    ELSIF TG_OP = 'UPDATE' AND OLD.frozen AND NOT NEW.frozen THEN
        INSERT INTO stream_events (stream_id, kind) VALUES (NEW.stream_id, 'unfreeze');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stream_safety_events AFTER INSERT OR UPDATE OF frozen ON stream_safety
    FOR EACH ROW EXECUTE FUNCTION stream_events_from_safety();

CREATE FUNCTION stream_events_from_goals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'completed' AND OLD.state IS DISTINCT FROM 'completed' THEN
        INSERT INTO stream_events (stream_id, kind, meta)
        VALUES (NEW.stream_id, 'goal_reached', jsonb_build_object('goalId', NEW.id));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stream_goals_events AFTER UPDATE OF state ON stream_goals
    FOR EACH ROW EXECUTE FUNCTION stream_events_from_goals();

CREATE FUNCTION stream_events_from_shows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'running' AND OLD.state IS DISTINCT FROM 'running' THEN
        INSERT INTO stream_events (stream_id, kind, meta)
        VALUES (NEW.stream_id, 'show_start', jsonb_build_object('show', TG_TABLE_NAME, 'showId', NEW.id));
    ELSIF OLD.state = 'running' AND NEW.state IS DISTINCT FROM 'running' THEN
        INSERT INTO stream_events (stream_id, kind, meta)
        VALUES (NEW.stream_id, 'show_end', jsonb_build_object('show', TG_TABLE_NAME, 'showId', NEW.id));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ticket_shows_events AFTER UPDATE OF state ON ticket_shows
    FOR EACH ROW EXECUTE FUNCTION stream_events_from_shows();
CREATE TRIGGER private_shows_events AFTER UPDATE OF state ON private_shows
    FOR EACH ROW EXECUTE FUNCTION stream_events_from_shows();

-- Player quality-of-experience beacons, summed per stream per minute (Owncast's pattern):
-- averages are sum / count at read time.
CREATE TABLE stream_qoe_minutes (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    minute timestamptz NOT NULL,
    beacons integer NOT NULL DEFAULT 0,
    latency_sum double precision NOT NULL DEFAULT 0,  -- seconds behind live
    latency_count integer NOT NULL DEFAULT 0,
    latency_max double precision NOT NULL DEFAULT 0,
    stalls integer NOT NULL DEFAULT 0,
    stall_seconds double precision NOT NULL DEFAULT 0,
    bitrate_switches integer NOT NULL DEFAULT 0,
    startup_ms_sum double precision NOT NULL DEFAULT 0,
    startup_count integer NOT NULL DEFAULT 0,
    PRIMARY KEY (stream_id, minute)
);
