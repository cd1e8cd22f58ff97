-- Subscriber-only posts: one more audience, checked with api.subscriptions.access.is_subscriber
-- (and, in lists, the same condition on subscriptions).
ALTER TABLE posts DROP CONSTRAINT posts_audience_check;
ALTER TABLE posts ADD CONSTRAINT posts_audience_check
    CHECK (audience IN ('public', 'followers', 'subscribers'));
