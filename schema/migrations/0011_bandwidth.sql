-- Bandwidth tier (docs/VERIFICATION.md §12): transfers the coordinator timed itself, the download tests it handed out,
-- and the tests each node started, for the per-hour limit.

-- A timed transfer. Only the newest 8 per node and direction are kept: each insert deletes the older ones.
CREATE TABLE bandwidth_samples (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- orders samples recorded in the same millisecond
  node_id   TEXT NOT NULL REFERENCES nodes (id),
  direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
  bytes     INTEGER NOT NULL,
  ms        INTEGER NOT NULL,                   -- the coordinator's clock, start to end; never a time the node reported
  at        INTEGER NOT NULL
);
CREATE INDEX bandwidth_samples_by_node ON bandwidth_samples (node_id, direction, at);

-- A download test waiting for its answer: the blob's SHA-256 (hex) and when it was handed out. Deleted when answered,
-- right or wrong; one older than 120 s is expired (and deleted by the next test any node starts).
CREATE TABLE bandwidth_tests (
  id         TEXT PRIMARY KEY,                 -- bwt_…
  node_id    TEXT NOT NULL REFERENCES nodes (id),
  bytes      INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  started_at INTEGER NOT NULL
);
CREATE INDEX bandwidth_tests_by_start ON bandwidth_tests (started_at);

-- Each test a node started (an upload past its header checks, a download handed out), kept one hour: at most 8 per
-- node and direction in any hour. `jti` is the node token's id: one token starts one test.
CREATE TABLE bandwidth_attempts (
  node_id   TEXT NOT NULL REFERENCES nodes (id),
  direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
  jti       TEXT NOT NULL,
  at        INTEGER NOT NULL,
  PRIMARY KEY (node_id, jti)
);
CREATE INDEX bandwidth_attempts_by_node ON bandwidth_attempts (node_id, direction, at);
CREATE INDEX bandwidth_attempts_by_time ON bandwidth_attempts (at);
