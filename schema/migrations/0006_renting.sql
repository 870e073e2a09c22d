-- Renting: credits ledger, clusters (summary; the Cluster object holds the detail) and rental intervals for points.

-- Every money movement, as signed deltas on the account's available and held balances.
-- A balance is the sum of its entries; `key` makes every movement idempotent.
CREATE TABLE credit_entries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  key             TEXT NOT NULL UNIQUE,
  account_id      TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'charge', 'refund', 'payout', 'fee')),
  available_delta INTEGER NOT NULL,
  held_delta      INTEGER NOT NULL,
  cluster_id      TEXT,
  node_id         TEXT,
  memo            TEXT,
  created_at      INTEGER NOT NULL
);
CREATE INDEX credit_entries_by_account ON credit_entries (account_id, id);
CREATE INDEX credit_entries_by_cluster ON credit_entries (cluster_id);

-- The network's own account: it receives the fee.
INSERT INTO accounts (id, name, api_key_hash, role, created_at) VALUES ('acc_network', 'pulsegrid network', 'none', 'user', 0);

CREATE TABLE clusters (
  id              TEXT PRIMARY KEY,
  account_id      TEXT NOT NULL,
  gpu_model       TEXT NOT NULL,
  gpu_count       INTEGER NOT NULL,
  hours           REAL NOT NULL,
  status          TEXT NOT NULL,
  price_cents     INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  ended_at        INTEGER
);
CREATE INDEX clusters_by_account ON clusters (account_id, created_at);

-- Time a node worked for a cluster (ready until released or lost); feeds the points ledger's compute part.
CREATE TABLE rentals (
  node_id     TEXT NOT NULL,
  cluster_id  TEXT NOT NULL,
  gpu_count   INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  PRIMARY KEY (node_id, cluster_id, started_at)
);
CREATE INDEX rentals_by_end ON rentals (ended_at);
