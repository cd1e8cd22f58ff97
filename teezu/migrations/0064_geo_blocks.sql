-- Creator geo-blocks: places where a stream is not available. place: an ISO 3166-1 country
-- ('NL', the whole country) or an ISO 3166-2 subdivision ('US-TX').
CREATE TABLE stream_geo_blocks (
    stream_id uuid NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    place text NOT NULL CHECK (place ~ '^[A-Z]{2}(-[A-Z0-9]{1,3})?$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, place)
);
