-- Points: epochs with their Merkle roots, the per-(epoch, node) ledger, staff adjustments, flags and the audit log.

CREATE TABLE epochs (
  n             INTEGER PRIMARY KEY,
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,              -- set when the epoch is closed; the next one starts then
  settled_at    INTEGER,              -- set once every row and the root are written
  root          TEXT,                 -- hex SHA-256 Merkle root of the epoch's rows (docs/POINTS.md)
  nodes         INTEGER,
  total_points  INTEGER,
  emission      INTEGER               -- reward units (1e-6 token) shared by this epoch's rows
);

-- One row per (epoch, node): inputs, terms and result. Never updated after insert.
CREATE TABLE points_ledger (
  epoch               INTEGER NOT NULL,
  node_id             TEXT NOT NULL,
  account_id          TEXT NOT NULL,
  gpu_model           TEXT NOT NULL,
  gpu_count           INTEGER NOT NULL,
  tier                TEXT NOT NULL,
  tier_weight_bp      INTEGER NOT NULL, -- basis points: 10000 = weight 1.0
  verified            INTEGER NOT NULL, -- 0 until hardware verification exists
  online_seconds      INTEGER NOT NULL,
  incident_seconds    INTEGER NOT NULL, -- offline time inside coordinator incidents, credited as online
  rented_gpu_seconds  INTEGER NOT NULL,
  challenges_issued   INTEGER NOT NULL,
  challenges_passed   INTEGER NOT NULL,
  challenges_failed   INTEGER NOT NULL,
  challenges_missed   INTEGER NOT NULL,
  availability_points INTEGER NOT NULL,
  compute_points      INTEGER NOT NULL,
  penalty_points      INTEGER NOT NULL,
  points              INTEGER NOT NULL,
  penalties           TEXT NOT NULL,    -- JSON [{code, reason, share}]
  reward              INTEGER NOT NULL, -- reward units (1e-6 token)
  leaf                TEXT NOT NULL,    -- hex SHA-256 leaf hash of this row
  PRIMARY KEY (epoch, node_id)
);
CREATE INDEX points_ledger_by_account ON points_ledger (account_id, epoch);
CREATE INDEX points_ledger_by_node ON points_ledger (node_id, epoch);

-- Staff corrections: new rows with a reason and an author, never edits of the ledger.
CREATE TABLE points_adjustments (
  id          TEXT PRIMARY KEY,
  epoch       INTEGER NOT NULL,
  node_id     TEXT NOT NULL,
  points      INTEGER NOT NULL,         -- signed delta
  reason      TEXT NOT NULL,
  author      TEXT NOT NULL,            -- "admin" or a staff account id
  created_at  INTEGER NOT NULL
);
CREATE INDEX points_adjustments_by_node ON points_adjustments (node_id, epoch);

-- Flags cut a node's points by `share` (1 = all) while active, each with its reason; public.
CREATE TABLE flags (
  id          TEXT PRIMARY KEY,
  node_id     TEXT NOT NULL,
  code        TEXT NOT NULL,
  reason      TEXT NOT NULL,
  share       REAL NOT NULL CHECK (share > 0 AND share <= 1),
  author      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  cleared_at  INTEGER
);
CREATE INDEX flags_by_node ON flags (node_id);

-- Every admin or staff action.
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  target      TEXT,
  details     TEXT NOT NULL             -- JSON
);
