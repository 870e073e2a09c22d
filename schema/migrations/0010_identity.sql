-- Identity and sybil rules (docs/VERIFICATION.md §12–§14): where each node connects from, the GPUs its agent
-- reports, and the co-scheduled verification rounds that challenge possible sharers at the same moment.

-- The address of the node's latest connection as the edge saw it (CF-Connecting-IP, never a client's report).
-- Private: read by the round planner and the settlement, never returned by a public route.
CREATE TABLE node_identity (
  node_id       TEXT PRIMARY KEY REFERENCES nodes (id),
  address       TEXT NOT NULL,                 -- as seen; 'unknown' when the edge gave none
  address_key   TEXT NOT NULL,                 -- the availability allowance's unit: an IPv4 address, an IPv6 /64
  network       TEXT NOT NULL,                 -- the sharing suspicion's unit: an IPv4 /24, an IPv6 /64
  gpu_uuids     TEXT NOT NULL DEFAULT '[]',    -- JSON: the GPU UUIDs the agent reported on that connection
  first_seen_at INTEGER NOT NULL,
  seen_at       INTEGER NOT NULL
);
CREATE INDEX node_identity_by_address ON node_identity (address_key);
CREATE INDEX node_identity_by_network ON node_identity (network);

-- Each reported GPU UUID and the nodes reporting it: one UUID on two nodes flags both `duplicate_identity`.
CREATE TABLE gpu_uuids (
  uuid    TEXT NOT NULL,
  node_id TEXT NOT NULL REFERENCES nodes (id),
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (uuid, node_id)
);
CREATE INDEX gpu_uuids_by_node ON gpu_uuids (node_id);

-- Consecutive failed attempts: a node is penalised only after FAILURES_TO_PENALISE of them in a row.
ALTER TABLE node_verifications ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

-- A co-scheduled round: suspect groups (same network, same GPU UUID, registered together) plus random decoys,
-- all challenged in the same second. `plan` is the JSON of the groups; judged once every member has ended.
CREATE TABLE verify_rounds (
  id        TEXT PRIMARY KEY,
  at        INTEGER NOT NULL,
  plan      TEXT NOT NULL,
  judged_at INTEGER
);
CREATE TABLE verify_round_members (
  round_id   TEXT NOT NULL REFERENCES verify_rounds (id),
  node_id    TEXT NOT NULL REFERENCES nodes (id),
  groups     TEXT NOT NULL,                   -- JSON: the suspect groups' keys it was in ([] for a decoy)
  outcome    TEXT,                            -- passed | late | wrong_answer | void; null while it runs
  measured_ms INTEGER,                        -- the slowest part's commit, as the coordinator timed it
  detail     TEXT,                            -- JSON: the session's evidence
  ended_at   INTEGER,
  PRIMARY KEY (round_id, node_id)
);
CREATE INDEX verify_round_members_by_node ON verify_round_members (node_id, round_id);

-- The GPUs behind one address that passed a round together: the availability allowance rises to this many.
CREATE TABLE address_allowances (
  address_key TEXT PRIMARY KEY,
  gpus        INTEGER NOT NULL,
  round_id    TEXT NOT NULL,
  at          INTEGER NOT NULL
);
