-- Rented time earns compute points only when an independent renter paid for it (docs/POINTS.md "Rented time that
-- counts"). Each new row records the rented GPU-seconds that did not count, and why, and is hashed with leaf encoding
-- 3, which includes them. Rows settled before this migration keep their leaf_version (1 or 2) and NULL in these
-- columns: their leaves are re-encoded with their own version's fields, byte for byte as they were hashed.
ALTER TABLE points_ledger ADD COLUMN self_rented_gpu_seconds INTEGER; -- rented by the operator, or a renter tied to it
ALTER TABLE points_ledger ADD COLUMN unpaid_gpu_seconds INTEGER;      -- rented by others, not covered by whole cents
-- Settlement looks up the link codes each renter and operator redeemed (a shared Discord user or Telegram chat ties them).
CREATE INDEX IF NOT EXISTS link_codes_by_account ON link_codes (account_id);
