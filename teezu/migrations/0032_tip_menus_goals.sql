-- Tip menus (creator-defined actions with prices) and stream goals.

CREATE TABLE tip_menu_items (
    id uuid PRIMARY KEY,
    creator_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label text NOT NULL CHECK (length(label) BETWEEN 1 AND 80),
    price bigint NOT NULL CHECK (price > 0),  -- tokens
    position int NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tip_menu_items_creator_idx ON tip_menu_items (creator_id, position) WHERE active;

-- A goal collects the tips of one stream towards a target; at most one is open per stream.
-- Its progress is derived from the tips that name it (ledger_transactions.goal_id), never kept
-- in a column every tip would update (that row would serialize the stream's tips).
CREATE TABLE stream_goals (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    target bigint NOT NULL CHECK (target > 0),  -- tokens
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'completed', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    CHECK ((state = 'open') = (ended_at IS NULL))
);
CREATE UNIQUE INDEX stream_goals_open_idx ON stream_goals (stream_id) WHERE state = 'open';

-- No foreign keys (the hot-row rule of 0030_ledger.sql): the goal and the menu item are read
-- by every tip of a busy stream.
ALTER TABLE ledger_transactions ADD COLUMN goal_id uuid, ADD COLUMN menu_item_id uuid;
CREATE INDEX ledger_transactions_goal_idx ON ledger_transactions (goal_id)
    WHERE goal_id IS NOT NULL;
