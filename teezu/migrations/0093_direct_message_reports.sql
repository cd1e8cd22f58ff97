-- Reports may name a direct message (issue 16): its sender is the report's subject.
ALTER TABLE reports DROP CONSTRAINT reports_target_type_check;
ALTER TABLE reports ADD CONSTRAINT reports_target_type_check
    CHECK (target_type IN ('stream', 'user', 'message', 'post', 'comment', 'direct_message'));
