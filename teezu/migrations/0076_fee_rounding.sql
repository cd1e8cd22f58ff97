-- The platform's share is rounded up from schedule 2026-12 on (api/wallet/fees.py): splitting a
-- tip into small ones can no longer avoid the fee. Earlier schedules keep rounding down, so
-- their splits are recomputed and reversed exactly as they were made. A new rule is a new
-- version (rows are never changed); it is in force from when this migration runs.
ALTER TABLE ledger_fee_schedules
    ADD COLUMN platform_rounding text NOT NULL DEFAULT 'floor'
        CHECK (platform_rounding IN ('floor', 'ceil'));
ALTER TABLE ledger_fee_schedules ALTER COLUMN platform_rounding DROP DEFAULT;
INSERT INTO ledger_fee_schedules
    (version, creator_bps, platform_bps, referral_bps, effective_from, platform_rounding)
VALUES ('2026-12', 8000, 2000, 500, now(), 'ceil');
