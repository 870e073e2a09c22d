-- Staff replies and flags reach the person: tickets and messages can come from Telegram too (the CHECKs are widened by
-- rebuilding both tables, as SQLite cannot alter a CHECK), a ticket remembers the last message its owner has seen (its
-- unread marker), and an outbox holds the Telegram messages owed to owners until the delivery gate has them.

PRAGMA defer_foreign_keys = true;

CREATE TABLE tickets_new (
  id             TEXT PRIMARY KEY,
  account_id     TEXT NOT NULL REFERENCES accounts(id),
  subject        TEXT NOT NULL,
  node_id        TEXT,
  status         TEXT NOT NULL CHECK (status IN ('open', 'waiting_on_staff', 'waiting_on_user', 'closed')),
  opened_via     TEXT NOT NULL CHECK (opened_via IN ('api', 'discord', 'telegram')),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  closed_at      INTEGER,
  closed_by      TEXT,
  flag_id        TEXT REFERENCES flags (id),
  owner_seen_id  INTEGER NOT NULL DEFAULT 0   -- the newest ticket_messages.id its owner has seen (0: none)
);
INSERT INTO tickets_new (id, account_id, subject, node_id, status, opened_via, created_at, updated_at, closed_at,
    closed_by, flag_id, owner_seen_id)
  SELECT id, account_id, subject, node_id, status, opened_via, created_at, updated_at, closed_at, closed_by, flag_id,
    -- Tickets from before: every message counts as seen, so no old reply shows as new.
    coalesce((SELECT max(m.id) FROM ticket_messages m WHERE m.ticket_id = tickets.id), 0)
  FROM tickets;

-- Messages reference the new table from the start (the rename below carries the reference along), so dropping the old
-- tables leaves no row pointing at a dropped one: a foreign-key violation counted then would fail the commit.
CREATE TABLE ticket_messages_new (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  ticket_id          TEXT NOT NULL REFERENCES tickets_new(id),
  author_role        TEXT NOT NULL CHECK (author_role IN ('owner', 'staff')),
  author_account_id  TEXT,
  author_name        TEXT NOT NULL,
  via                TEXT NOT NULL CHECK (via IN ('api', 'discord', 'telegram')),
  body               TEXT NOT NULL,
  created_at         INTEGER NOT NULL
);
INSERT INTO ticket_messages_new (id, ticket_id, author_role, author_account_id, author_name, via, body, created_at)
  SELECT id, ticket_id, author_role, author_account_id, author_name, via, body, created_at FROM ticket_messages;

DROP TABLE ticket_messages;
DROP TABLE tickets;
ALTER TABLE tickets_new RENAME TO tickets;
ALTER TABLE ticket_messages_new RENAME TO ticket_messages;
CREATE INDEX tickets_by_account ON tickets (account_id, updated_at);
CREATE INDEX tickets_by_status ON tickets (status, updated_at);
CREATE INDEX tickets_by_flag ON tickets (flag_id) WHERE flag_id IS NOT NULL;
CREATE INDEX ticket_messages_by_ticket ON ticket_messages (ticket_id, id);

-- Telegram messages owed to an account's linked chats (a staff reply, a flag, a flag cleared), written in the same batch
-- as the change they tell of; handed to the DeliveryGate (job id `notice:<id>`, so a second hand-off is ignored) right
-- after the request and by the cron, then kept with handed_at. Discord DMs go through discord_outbox (`dm:<user id>`).
CREATE TABLE telegram_outbox (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  chat_id     TEXT NOT NULL,
  text        TEXT NOT NULL,               -- plain text, sent without a parse mode
  created_at  INTEGER NOT NULL,
  handed_at   INTEGER                      -- when the gate took it
);
CREATE INDEX telegram_outbox_pending ON telegram_outbox (id) WHERE handed_at IS NULL;
