-- A co-scheduled round's judgement, per member (docs/VERIFICATION.md §14): the verdict, set once when the round is
-- judged, and when its effect (the member's verification attempt, a flag) was applied. A judgement interrupted after
-- the verdicts were set is finished later from these: a member with a verdict and no `applied_at` is applied again.
ALTER TABLE verify_round_members ADD COLUMN verdict TEXT;     -- passed | shared | late | wrong_answer | void
ALTER TABLE verify_round_members ADD COLUMN applied_at INTEGER;
