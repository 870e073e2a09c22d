-- The points ledger learns verification, probation, the address allowance and the bandwidth tier (docs/POINTS.md).
-- Each new row records the terms its points come from, so anyone can recompute it from the docs, and is hashed with
-- leaf encoding 2, which includes them. Rows settled before this migration keep leaf_version 1 and NULL in the new
-- columns: their leaves are re-encoded with the version-1 fields, byte for byte as they were hashed.
ALTER TABLE points_ledger ADD COLUMN leaf_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE points_ledger ADD COLUMN credited_gpus INTEGER;       -- gpu_count once verified, else 1
ALTER TABLE points_ledger ADD COLUMN effective_weight_bp INTEGER; -- the tier's weight once verified, else the lowest
ALTER TABLE points_ledger ADD COLUMN probation INTEGER;           -- 1: the epoch began within PROBATION_S of joining
ALTER TABLE points_ledger ADD COLUMN address_share_bp INTEGER;    -- what the address allowance leaves, 10000 = all
ALTER TABLE points_ledger ADD COLUMN bandwidth_tier TEXT;         -- unmeasured | low | standard | high | premium
ALTER TABLE points_ledger ADD COLUMN bandwidth_factor_bp INTEGER; -- that tier's factor on availability, 10000 = ×1.0
