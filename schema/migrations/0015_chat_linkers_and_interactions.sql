-- Who linked each chat, so that in a Telegram group only they (or a group admin) change anything for the account; and
-- the Discord interactions already handled, so a signed interaction replayed within its 15 minutes is refused.

-- The Telegram user who sent /start CODE (a Discord link: the user itself). Links made before this migration: a private
-- chat's id is its user's id; a group's linker is unknown (NULL: only the group's admins may change things there).
ALTER TABLE chat_links ADD COLUMN linked_by TEXT;
UPDATE chat_links SET linked_by = external_id WHERE kind = 'discord' OR external_id NOT LIKE '-%';

-- One row per interaction id handled; rows older than the replay window (30 minutes) are deleted by later inserts.
CREATE TABLE discord_interactions (
  id      TEXT PRIMARY KEY,              -- the interaction's snowflake id
  seen_at INTEGER NOT NULL               -- ms, when it was first handled
);
CREATE INDEX discord_interactions_by_time ON discord_interactions (seen_at);
