-- Trust and safety, engine side: each stream's safety state, every automated moderation
-- decision with its scores, and the frames flagged for a person to review.

-- One row per stream that has a rating other than the default or has had a safety event.
-- rating: what the creator declared ('adult' by default on this platform; 'sfw' streams are
-- frozen on clear explicit content). explicit: automated moderation saw explicit content, so
-- viewers who are not verified adults and public previews get only safe content.
CREATE TABLE stream_safety (
    stream_id uuid PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    rating text NOT NULL DEFAULT 'adult' CHECK (rating IN ('sfw', 'adult')),
    explicit boolean NOT NULL DEFAULT false,
    explicit_since timestamptz,
    frozen boolean NOT NULL DEFAULT false,
    frozen_reason text,
    frozen_at timestamptz,
    frozen_by uuid REFERENCES users (id) ON DELETE SET NULL,  -- NULL: automated moderation
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every decision on a sampled frame, "allow" included: what the model saw and what followed.
CREATE TABLE moderation_decisions (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    run text,                         -- the broadcast (storage run folder)
    sample_seq integer NOT NULL,      -- 0, 1, 2... per broadcast
    stream_time double precision NOT NULL,  -- seconds into the broadcast
    sample_reason text NOT NULL CHECK (sample_reason IN ('first', 'interval', 'scene')),
    rating text NOT NULL,
    audience text NOT NULL,
    detector text NOT NULL,
    policy_version text NOT NULL,
    action text NOT NULL CHECK (action IN ('allow', 'mark_explicit', 'flag_review', 'freeze')),
    actions text[] NOT NULL,
    detections jsonb NOT NULL,        -- [{"label", "score", "box": [x, y, w, h]}]
    matches jsonb NOT NULL,           -- [{"rule", "label", "score"}]
    latency_ms double precision NOT NULL,  -- frame entered the pipeline -> decision
    inference_ms double precision NOT NULL,
    snapshot_key text,                -- storage key of the frame's JPEG, when one was kept
    decided_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_decisions_stream_idx ON moderation_decisions (stream_id, decided_at DESC);
CREATE INDEX moderation_decisions_action_idx ON moderation_decisions (decided_at DESC)
    WHERE action <> 'allow';

-- Frames (or freezes) waiting for a person: automated flags with their snapshot.
CREATE TABLE moderation_flags (
    id uuid PRIMARY KEY,
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    decision_id uuid REFERENCES moderation_decisions (id) ON DELETE SET NULL,
    kind text NOT NULL CHECK (kind IN ('frame', 'freeze')),
    reason text NOT NULL,
    snapshot_key text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'resolved')),
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX moderation_flags_pending_idx ON moderation_flags (created_at) WHERE status = 'pending';
