-- A room's own review mode, over its creator's (NULL: the creator's setting applies): a room's
-- moderators can hold or delay one busy stream's chat without changing the creator's default.
ALTER TABLE chat_rooms ADD COLUMN review_mode text CHECK (review_mode IN ('off', 'hold', 'delay'));
ALTER TABLE chat_rooms ADD COLUMN delay_seconds integer CHECK (delay_seconds BETWEEN 1 AND 300);
