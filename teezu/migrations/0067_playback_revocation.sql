-- Playback revocation (docs/engine.md, "Signed playback"). A playback token carries the
-- stream's access epoch it was signed at; the media servers refuse a token signed before
-- the stream's floor (a change for every viewer: its visibility, a ticket show starting or
-- ending) or before its viewer's own revocation (a subscription ending or cut short, a ban
-- from the room, an unfollow of a followers-only stream, an account suspended or banned).
--
-- The triggers make every such change bump the epoch in the same transaction, whichever
-- path makes it (the API, the renewal job, the kill switch, the CLI, an operator's SQL), and
-- NOTIFY 'playback_access' with the stream id, delivered on commit to every node's listener
-- (api/streams/revocations.py), which drops its cached access of the stream. Changes the
-- tokens' claims already answer for (geo-blocks, the stream's rating) only notify.

ALTER TABLE streams
    ADD COLUMN access_epoch bigint NOT NULL DEFAULT 0,
    ADD COLUMN access_floor bigint NOT NULL DEFAULT 0;

CREATE TABLE playback_revocations (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    viewer text NOT NULL,  -- a token's viewer id: the account's id without dashes
    epoch bigint NOT NULL,  -- this viewer's tokens signed at an earlier epoch are refused
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, viewer)
);

-- Every token of the stream signed before now is refused.
CREATE FUNCTION playback_bump_floor(p_stream uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE streams SET access_epoch = access_epoch + 1, access_floor = access_epoch + 1
    WHERE id = p_stream;
    SELECT pg_notify('playback_access', p_stream::text);
$$;

-- ``p_viewer``'s tokens for these streams signed before now are refused. Rows are locked in
-- id order, so two revocations over the same streams never deadlock.
CREATE FUNCTION playback_revoke_viewer(p_streams uuid[], p_viewer uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    FOR s IN
        UPDATE streams SET access_epoch = access_epoch + 1
        WHERE id IN (SELECT id FROM streams WHERE id = ANY (p_streams) ORDER BY id FOR UPDATE)
        RETURNING id, access_epoch
    LOOP
        INSERT INTO playback_revocations (stream_id, viewer, epoch)
        VALUES (s.id, replace(p_viewer::text, '-', ''), s.access_epoch)
        ON CONFLICT (stream_id, viewer) DO UPDATE SET epoch = EXCLUDED.epoch, at = now();
        PERFORM pg_notify('playback_access', s.id::text);
    END LOOP;
    -- Rows older than any token can live (hls.access.MAX_LIFETIME) protect nothing.
    DELETE FROM playback_revocations
    WHERE stream_id = ANY (p_streams) AND at < now() - interval '2 hours';
END $$;

-- Visibility: a new floor, set on the row being written.
CREATE FUNCTION streams_playback_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.access_epoch := OLD.access_epoch + 1;
    NEW.access_floor := NEW.access_epoch;
    PERFORM pg_notify('playback_access', NEW.id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER streams_playback_visibility BEFORE UPDATE OF visibility ON streams
    FOR EACH ROW WHEN (OLD.visibility IS DISTINCT FROM NEW.visibility)
    EXECUTE FUNCTION streams_playback_visibility();

-- A ticket show starting or ending changes who may watch (ticketed while it runs).
CREATE FUNCTION ticket_shows_playback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM playback_bump_floor(NEW.stream_id);
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_shows_playback_update AFTER UPDATE OF state ON ticket_shows
    FOR EACH ROW WHEN ((OLD.state = 'running') IS DISTINCT FROM (NEW.state = 'running'))
    EXECUTE FUNCTION ticket_shows_playback();
CREATE TRIGGER ticket_shows_playback_insert AFTER INSERT ON ticket_shows
    FOR EACH ROW WHEN (NEW.state = 'running')
    EXECUTE FUNCTION ticket_shows_playback();

-- A subscription that stops granting access, or grants it for less long: the subscriber's
-- tokens for the creator's subscriber streams (a new token is capped at the new end).
CREATE FUNCTION subscriptions_playback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM playback_revoke_viewer(
        ARRAY(SELECT id FROM streams WHERE creator_id = OLD.creator_id
              AND visibility = 'subscribers'),
        OLD.subscriber_id);
    RETURN NULL;
END $$;
CREATE TRIGGER subscriptions_playback_update AFTER UPDATE OF state, access_until ON subscriptions
    FOR EACH ROW WHEN (
        NEW.access_until < OLD.access_until
        OR (OLD.state IN ('active', 'grace') AND NEW.state NOT IN ('active', 'grace')))
    EXECUTE FUNCTION subscriptions_playback();
CREATE TRIGGER subscriptions_playback_delete AFTER DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION subscriptions_playback();

-- A ban from a stream's room (not a timeout: that only mutes).
CREATE FUNCTION chat_restrictions_playback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM playback_revoke_viewer(ARRAY[NEW.stream_id], NEW.user_id);
    RETURN NULL;
END $$;
CREATE TRIGGER chat_restrictions_playback AFTER INSERT OR UPDATE ON chat_restrictions
    FOR EACH ROW WHEN (NEW.kind = 'ban')
    EXECUTE FUNCTION chat_restrictions_playback();

-- An unfollow: the follower's tokens for the creator's followers-only streams.
CREATE FUNCTION follows_playback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM playback_revoke_viewer(
        ARRAY(SELECT id FROM streams WHERE creator_id = OLD.creator_id
              AND visibility = 'followers'),
        OLD.follower_id);
    RETURN NULL;
END $$;
CREATE TRIGGER follows_playback AFTER DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION follows_playback();

-- An account suspended or banned: its tokens for every live stream (its sessions end with it,
-- so it gets no new one but as an anonymous viewer). Not on erasure: that would write the
-- erased account's id into a new row after the erasure removed its rows.
CREATE FUNCTION users_playback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM playback_revoke_viewer(ARRAY(SELECT id FROM streams WHERE state = 'live'), NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER users_playback AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status IN ('suspended', 'banned')
                       AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION users_playback();

-- Changes the tokens' claims are checked against on every request: only tell the nodes.
CREATE FUNCTION playback_notify_stream() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('playback_access', OLD.stream_id::text);
    ELSE
        PERFORM pg_notify('playback_access', NEW.stream_id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stream_geo_blocks_playback AFTER INSERT OR DELETE ON stream_geo_blocks
    FOR EACH ROW EXECUTE FUNCTION playback_notify_stream();
CREATE TRIGGER stream_safety_playback_insert AFTER INSERT ON stream_safety
    FOR EACH ROW EXECUTE FUNCTION playback_notify_stream();
CREATE TRIGGER stream_safety_playback_update AFTER UPDATE OF rating, explicit ON stream_safety
    FOR EACH ROW WHEN (OLD.rating IS DISTINCT FROM NEW.rating
                       OR OLD.explicit IS DISTINCT FROM NEW.explicit)
    EXECUTE FUNCTION playback_notify_stream();
