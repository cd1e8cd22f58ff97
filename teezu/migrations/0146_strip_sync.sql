-- StripSync (api/engagement/room_sync.py): the creator queues actions, the room's votes and
-- tips weigh them, and the creator's "next" takes the heaviest. Each pick gets the stream's
-- next pick_order in one transaction under an advisory lock per stream, so every room on
-- every node sees the same order. Votes lock their action FOR SHARE while they insert, so a
-- pick (FOR UPDATE) counts every vote that got in, and none after.
CREATE TABLE sync_actions (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 80),
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'picked', 'dropped')),
    points bigint,  -- at the pick: the weight it was picked with
    picked_at timestamptz,
    pick_order integer,  -- 1, 2, 3 … per stream, in the order picked
    UNIQUE (stream_id, pick_order),
    CHECK ((state = 'picked') = (pick_order IS NOT NULL))
);
CREATE INDEX sync_actions_queued ON sync_actions (stream_id, queued_at) WHERE state = 'queued';

CREATE TABLE sync_votes (
    action_id uuid NOT NULL REFERENCES sync_actions (id) ON DELETE CASCADE,
    voter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    weight bigint NOT NULL CHECK (weight > 0),  -- 1 (a free vote), or the tip's tokens
    tip_id bigint UNIQUE,  -- a tipped vote's ledger transaction: counted once
    voted_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sync_votes_free ON sync_votes (action_id, voter_id) WHERE tip_id IS NULL;
CREATE INDEX sync_votes_voter ON sync_votes (voter_id);
