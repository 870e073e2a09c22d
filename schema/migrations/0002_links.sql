-- One-time codes that link a Telegram chat or a Discord user to an account, and the links themselves.

CREATE TABLE link_codes (
  code_hash   TEXT PRIMARY KEY,          -- hex SHA-256 of the code; the code is shown once
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER,
  used_by     TEXT                        -- "<kind>:<external id>" that redeemed it
);

CREATE TABLE chat_links (
  kind        TEXT NOT NULL CHECK (kind IN ('telegram', 'discord')),
  external_id TEXT NOT NULL,             -- Telegram chat id, or Discord user id
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  linked_at   INTEGER NOT NULL,
  PRIMARY KEY (kind, external_id)
);
CREATE INDEX chat_links_by_account ON chat_links (account_id);
