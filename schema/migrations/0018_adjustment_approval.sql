-- Issue 12, item 4: a staff adjustment to a node of the author's own account, or of more than
-- ADJUSTMENT_APPROVAL_POINTS (workers/domain/adjustments.ts), waits for a second staff member's approval and counts
-- nowhere until then. needs_approval holds why (NULL: none needed); adjustments made before this migration need none.
ALTER TABLE points_adjustments ADD COLUMN needs_approval TEXT;
ALTER TABLE points_adjustments ADD COLUMN approved_by TEXT;
ALTER TABLE points_adjustments ADD COLUMN approved_at INTEGER;
