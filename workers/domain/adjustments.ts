// Staff adjustments of points: which need a second staff member, who may approve one, and whether it counts yet.
// Pure: the actors and the node's owner are arguments. The rules are docs/POINTS.md "Staff adjustments".

/**
 * An adjustment of more than this many points, either way, needs a second staff member: about 7 hours of a verified
 * RTX 4090's availability (3,600 points an hour at weight 1.0), or 3.5 hours of it rented.
 */
export const ADJUSTMENT_APPROVAL_POINTS = 25_000;

/** Why an adjustment by `author` to a node of `owner` needs a second staff member, or null when it does not. */
export function approvalNeeded(points: number, author: string, owner: string): string | null {
	if (author === owner) return "the author's own account owns the node";
	if (Math.abs(points) > ADJUSTMENT_APPROVAL_POINTS) {
		return `more than ${ADJUSTMENT_APPROVAL_POINTS.toLocaleString("en-US")} points`;
	}
	return null;
}

export interface Pending {
	author: string;
	needs_approval: string | null;
	approved_at: number | null;
}

/**
 * Why `approver` may not approve the adjustment (to a node of `owner`), or null when it may: only one that waits for
 * approval, never its own author, never the node's owner. The admin token is a second member to a staff account, and
 * a staff account to the admin token.
 */
export function approvalRefused(a: Pending, approver: string, owner: string): string | null {
	if (a.needs_approval === null) return "This adjustment needs no approval: it counts already.";
	if (a.approved_at !== null) return "This adjustment is approved already.";
	if (approver === a.author) return "An adjustment is approved by a second staff member, not by its author.";
	if (approver === owner) return "The owner of the node cannot approve an adjustment of its points.";
	return null;
}

/** Whether an adjustment counts: it needed no approval, or it has it. */
export function adjustmentStatus(a: Pick<Pending, "needs_approval" | "approved_at">): "applied" | "pending" {
	return a.needs_approval === null || a.approved_at !== null ? "applied" : "pending";
}
