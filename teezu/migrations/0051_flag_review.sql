-- Moderators review automated flags (issue 6): a flag is resolved exactly once, as dismissed or
-- confirmed (a conditional update), and the moderator's action is appended to moderation_log
-- (migration 0062) with the flag's id in meta.flagId, in the same transaction.

ALTER TABLE moderation_flags
    ADD COLUMN resolution text CHECK (resolution IN ('dismissed', 'confirmed')),
    ADD COLUMN note text NOT NULL DEFAULT '';
-- A resolved flag says how; an open one does not.
ALTER TABLE moderation_flags ADD CONSTRAINT moderation_flags_resolution_chk
    CHECK ((status = 'pending') = (resolution IS NULL AND resolved_at IS NULL));
