-- Polls and challenges in a stream's room (api/engagement/polls.py). A poll closes once: one
-- conditional UPDATE ... WHERE state = 'open' (any API node's sweep, or the creator), which
-- also writes its result. Votes lock the poll row FOR SHARE while they insert, so no vote is
-- added after the closing UPDATE counted them.
CREATE TABLE room_polls (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    opened_by uuid REFERENCES users (id) ON DELETE SET NULL,
    kind text NOT NULL DEFAULT 'poll' CHECK (kind IN ('poll', 'challenge')),
    question text NOT NULL CHECK (length(question) BETWEEN 1 AND 200),
    options text[] NOT NULL CHECK (cardinality(options) BETWEEN 2 AND 6),
    weighted boolean NOT NULL DEFAULT false,  -- votes are tips, weighing their tokens
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    opened_at timestamptz NOT NULL DEFAULT now(),
    deadline timestamptz NOT NULL,
    closed_at timestamptz,
    closed_by text CHECK (closed_by IN ('deadline', 'creator')),
    tally jsonb,  -- at close: [{option, votes, weight}]
    winner smallint,  -- at close: the winning option; NULL: no votes, or a tie
    CHECK ((state = 'open') = (closed_at IS NULL)),
    CHECK (deadline > opened_at)
);
CREATE UNIQUE INDEX room_polls_one_open ON room_polls (stream_id) WHERE state = 'open';
CREATE INDEX room_polls_due ON room_polls (deadline) WHERE state = 'open';
CREATE INDEX room_polls_stream ON room_polls (stream_id, opened_at DESC);

CREATE TABLE room_poll_votes (
    poll_id uuid NOT NULL REFERENCES room_polls (id) ON DELETE CASCADE,
    voter_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    option smallint NOT NULL CHECK (option BETWEEN 0 AND 5),
    weight bigint NOT NULL CHECK (weight > 0),  -- 1, or the tokens of the tip
    tip_id bigint UNIQUE,  -- a weighted vote's tip (ledger_transactions.id): counted once
    voted_at timestamptz NOT NULL DEFAULT now()
);
-- One free vote per voter and poll; a weighted poll counts every tip.
CREATE UNIQUE INDEX room_poll_votes_free ON room_poll_votes (poll_id, voter_id)
    WHERE tip_id IS NULL;
CREATE INDEX room_poll_votes_poll ON room_poll_votes (poll_id, option);
CREATE INDEX room_poll_votes_voter ON room_poll_votes (voter_id);
