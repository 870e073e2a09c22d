-- Credentials people can manage (issue 12, items 11 and 12): several named, scoped API keys per account; a node key
-- that can be rotated or revoked; and the audit log readable by the account it concerns.

-- One row per API key. Only the key's SHA-256 is stored; the key is shown once, when it is made.
-- Scopes are ordered, each including the ones before it: read < operate < rent < admin (README "API keys").
CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,                 -- key_…
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  name        TEXT NOT NULL,
  scope       TEXT NOT NULL CHECK (scope IN ('read', 'operate', 'rent', 'admin')),
  key_hash    TEXT NOT NULL UNIQUE,             -- hex SHA-256 of the key
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER                           -- set once; a revoked key is refused (401) from that moment
);
CREATE INDEX api_keys_by_account ON api_keys (account_id, created_at);

-- Every account's existing key keeps working, with exactly the powers it had: `admin`, which is everything the account
-- may do (staff routes still need the account's role to be staff, as before).
INSERT INTO api_keys (id, account_id, name, scope, key_hash, created_at)
  SELECT 'key_' || lower(hex(randomblob(12))), id, 'default', 'admin', api_key_hash, created_at FROM accounts;

-- A node's key: when the current one was set (a rotation statement must be issued after it) and when it was revoked
-- (no token of the node is accepted until a new key is set).
ALTER TABLE nodes ADD COLUMN key_set_at INTEGER;
ALTER TABLE nodes ADD COLUMN key_revoked_at INTEGER;

-- The account an audit entry concerns (its credentials, nodes, flags or money), so that the account can read its own
-- entries (GET /v1/me/audit). Derived from the target when the entry is written; filled in here for older entries.
ALTER TABLE audit_log ADD COLUMN account_id TEXT;
UPDATE audit_log SET account_id = CASE
    WHEN target LIKE 'account:%' THEN substr(target, 9)
    WHEN target LIKE 'node:%' THEN (SELECT n.account_id FROM nodes n WHERE n.id = substr(audit_log.target, 6))
    WHEN target LIKE 'flag:%' THEN (SELECT n.account_id FROM flags f JOIN nodes n ON n.id = f.node_id
      WHERE f.id = substr(audit_log.target, 6))
  END
  WHERE target IS NOT NULL;
CREATE INDEX audit_log_by_account ON audit_log (account_id, id) WHERE account_id IS NOT NULL;
