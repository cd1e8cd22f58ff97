-- Affiliates: referral codes and links, the clicks on them, and attribution at sign-up into the
-- ledger's affiliate_referrals (0030), whose referrer earns the referral share of the referred
-- account's fee splits. Earnings are never stored here: they are read from the ledger.
CREATE TABLE affiliate_codes (
    owner_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{6,16}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per followed link. The visitor keeps the first click's id in a cookie (first touch);
-- a sign-up within the window is attributed to that click.
CREATE TABLE affiliate_clicks (
    id uuid PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES affiliate_codes (owner_id) ON DELETE CASCADE,
    clicked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX affiliate_clicks_owner_idx ON affiliate_clicks (owner_id, clicked_at);

-- How each referral came about (NULL for referrals recorded before links existed).
ALTER TABLE affiliate_referrals
    ADD COLUMN click_id uuid,
    ADD COLUMN via text CHECK (via IN ('link', 'code'));
CREATE INDEX affiliate_referrals_referrer_idx ON affiliate_referrals (referrer_id, created_at);
