-- Support tickets (opened from Discord or the API, one store), their messages, and the outbox of bot posts to Discord.

CREATE TABLE tickets (
  id          TEXT PRIMARY KEY,             -- tkt_…
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  subject     TEXT NOT NULL,                -- at most 120 characters
  node_id     TEXT,                         -- one of the account's nodes, when the ticket is about one
  status      TEXT NOT NULL CHECK (status IN ('open', 'waiting_on_staff', 'waiting_on_user', 'closed')),
  opened_via  TEXT NOT NULL CHECK (opened_via IN ('api', 'discord')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,             -- last message or status change
  closed_at   INTEGER,
  closed_by   TEXT                          -- author name of whoever closed it
);
CREATE INDEX tickets_by_account ON tickets (account_id, updated_at);
CREATE INDEX tickets_by_status ON tickets (status, updated_at);

-- The opening body is the first message; every reply is another. Never edited.
CREATE TABLE ticket_messages (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  ticket_id          TEXT NOT NULL REFERENCES tickets(id),
  author_role        TEXT NOT NULL CHECK (author_role IN ('owner', 'staff')),
  author_account_id  TEXT,                  -- NULL for the admin token or a Discord staff member with no linked account
  author_name        TEXT NOT NULL,         -- what is shown: account name, "admin", or "discord:<username>"
  via                TEXT NOT NULL CHECK (via IN ('api', 'discord')),
  body               TEXT NOT NULL,         -- at most 4000 characters
  created_at         INTEGER NOT NULL
);
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, id);

-- Messages the bot must post to a Discord channel (the staff channel), written in the same batch as the change they
-- announce and deleted never: delivered rows keep sent_at and the Discord message id. Retried with backoff by the cron.
CREATE TABLE discord_outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  channel_id       TEXT NOT NULL,
  content          TEXT NOT NULL,           -- at most 2000 characters (Discord's limit)
  nonce            TEXT NOT NULL UNIQUE,    -- sent with enforce_nonce, so a retried post is not duplicated by Discord
  created_at       INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  lease_until      INTEGER,                 -- a drain holding the row; others skip it until then
  sent_at          INTEGER,
  message_id       TEXT,
  gave_up_at       INTEGER,                 -- after too many attempts; the ticket itself is never lost
  last_error       TEXT
);
CREATE INDEX discord_outbox_pending ON discord_outbox (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
