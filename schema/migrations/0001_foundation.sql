-- Foundation: accounts, nodes, status flips, online intervals and coordinator incidents.
-- Times are integer milliseconds since the Unix epoch (UTC); the API renders them as ISO-8601.

CREATE TABLE accounts (
  id            TEXT PRIMARY KEY,                 -- acc_…
  name          TEXT NOT NULL,
  api_key_hash  TEXT NOT NULL UNIQUE,             -- hex SHA-256 of the API key; the key itself is never stored
  role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'staff')),
  created_at    INTEGER NOT NULL
);

CREATE TABLE nodes (
  id            TEXT PRIMARY KEY,                 -- node_…
  account_id    TEXT NOT NULL REFERENCES accounts(id),
  name          TEXT NOT NULL,
  public_key    TEXT NOT NULL UNIQUE,             -- raw 32-byte Ed25519 key, base64url
  gpu_model     TEXT NOT NULL,
  gpu_count     INTEGER NOT NULL,
  vram_gb       REAL NOT NULL,
  cpu_cores     INTEGER NOT NULL,
  ram_gb        REAL NOT NULL,
  region        TEXT,
  shard         TEXT NOT NULL,                    -- the LivenessShard that owns this node, fixed at registration
  status        TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'online', 'offline', 'maintenance')),
  status_since  INTEGER NOT NULL,
  status_seq    INTEGER NOT NULL DEFAULT 0,      -- seq of the flip that set status; older writes never win
  last_seen_at  INTEGER,                          -- written at flips; live value comes from the shard
  maintenance   INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  deleted_at    INTEGER
);
CREATE INDEX nodes_by_account ON nodes (account_id) WHERE deleted_at IS NULL;
CREATE INDEX nodes_by_status_model ON nodes (status, gpu_model) WHERE deleted_at IS NULL;

-- Every status change, written by the node's shard through its outbox (id makes retries idempotent).
CREATE TABLE flips (
  id            TEXT PRIMARY KEY,                 -- "<node_id>:<seq>"
  node_id       TEXT NOT NULL,
  from_status   TEXT NOT NULL,
  to_status     TEXT NOT NULL,
  at            INTEGER NOT NULL,
  reason        TEXT NOT NULL,
  last_seen_at  INTEGER,
  incident_id   TEXT
);
CREATE INDEX flips_by_node_at ON flips (node_id, at);
CREATE INDEX flips_by_at ON flips (at);

-- Time the node was online; an open interval has ended_at NULL.
CREATE TABLE online_intervals (
  node_id       TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  ended_at      INTEGER,
  end_reason    TEXT,
  incident_id   TEXT,
  PRIMARY KEY (node_id, started_at)
);
CREATE INDEX online_intervals_by_end ON online_intervals (ended_at);

-- Drops the coordinator attributes to itself (mass drop in one shard, or a coordinator restart).
CREATE TABLE incidents (
  id             TEXT PRIMARY KEY,                -- inc_…
  scope          TEXT NOT NULL,                   -- "shard:<name>"
  reason         TEXT NOT NULL,                   -- mass_drop | coordinator_restart
  started_at     INTEGER NOT NULL,
  ended_at       INTEGER,
  nodes_affected INTEGER NOT NULL
);
