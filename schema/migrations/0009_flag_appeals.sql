-- Flags carry their evidence (JSON, shown to the node's owner and staff, never publicly), and a support ticket can be
-- an appeal of one flag (docs/VERIFICATION.md §11).
ALTER TABLE flags ADD COLUMN evidence TEXT;
ALTER TABLE tickets ADD COLUMN flag_id TEXT REFERENCES flags (id);
CREATE INDEX tickets_by_flag ON tickets (flag_id) WHERE flag_id IS NOT NULL;
