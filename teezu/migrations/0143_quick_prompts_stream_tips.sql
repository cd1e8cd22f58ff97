-- Quick prompts: tip-menu items shown in the room's input bar, each a priced prompt that may
-- set off an action (api/wallet/menus.py); and the product's ``stream_tips`` (tip_source,
-- trigger_action, goal_id) as a view over the ledger: a tip's source and action are written
-- in its memo by the tip's own statement, so they commit with it (nothing else to keep in step).
ALTER TABLE tip_menu_items
    ADD COLUMN kind text NOT NULL DEFAULT 'menu' CHECK (kind IN ('menu', 'prompt')),
    ADD COLUMN trigger_action text CHECK (length(trigger_action) BETWEEN 1 AND 80);

CREATE VIEW stream_tips AS
SELECT t.id AS tip_id,
       t.stream_id,
       t.initiator_id AS tipper_id,
       (SELECT sum(e.amount) FROM ledger_entries e WHERE e.tx_id = t.id AND e.amount > 0)::bigint
           AS amount,
       coalesce(t.memo ->> 'tipSource',
                CASE WHEN t.menu_item_id IS NOT NULL THEN 'menu' ELSE 'direct' END) AS tip_source,
       t.memo ->> 'triggerAction' AS trigger_action,
       t.goal_id,
       t.menu_item_id,
       t.created_at
FROM ledger_transactions t
WHERE t.kind = 'tip' AND t.stream_id IS NOT NULL;
