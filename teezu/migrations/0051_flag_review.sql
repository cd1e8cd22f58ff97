-- Moderators review automated flags (issue 6): a flag is resolved exactly once, as dismissed or
-- confirmed, and the moderator's action is appended to moderation_log citing the flag.

ALTER TABLE moderation_flags
    ADD COLUMN resolution text CHECK (resolution IN ('dismissed', 'confirmed')),
    ADD COLUMN note text NOT NULL DEFAULT '';
-- A resolved flag says how; an open one does not.
ALTER TABLE moderation_flags ADD CONSTRAINT moderation_flags_resolution_chk
    CHECK ((status = 'pending') = (resolution IS NULL AND resolved_at IS NULL));

ALTER TABLE moderation_log ADD COLUMN flag_id uuid REFERENCES moderation_flags (id);
CREATE INDEX moderation_log_flag_idx ON moderation_log (flag_id, id) WHERE flag_id IS NOT NULL;
