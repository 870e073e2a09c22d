-- Hardware verification (docs/VERIFICATION.md): one row per node once a verification has run; no row = unverified.
-- A verification holds for the claim it checked (model and GPU count): a node whose claim differs is unverified again.
CREATE TABLE node_verifications (
  node_id     TEXT PRIMARY KEY REFERENCES nodes (id),
  state       TEXT NOT NULL CHECK (state IN ('verified', 'failed')),
  gpu_model   TEXT NOT NULL,                 -- the claim that was checked
  gpu_count   INTEGER NOT NULL,
  tier        TEXT,                          -- verified: the tier the measured throughput supports
  measured_ms INTEGER,                       -- verified: the challenge time the coordinator measured
  method      TEXT,                          -- how: e.g. 'matmul-freivalds-v1'
  reason      TEXT CHECK (reason IN ('wrong_answer', 'late', 'claim_mismatch', 'shared_hardware', 'duplicate_identity')),
  evidence    TEXT,                          -- failed: JSON of the attempts (times, rows, checks)
  updated_at  INTEGER NOT NULL
);
