// Owns the `flags` table: penalties on nodes (a share of their points withheld while active), set by staff or by the
// coordinator's judgements; the node's owner is told of each flag at once, and of its clearing (which closes appeals).
import type { Penalty } from "../domain/points.ts";
import { flagClearedNote, flagClearedNotice, flagNotice } from "../domain/ticket-text.ts";
import { audited, auditedIf, type AuditEntry } from "./audit.ts";
import { noticeStatements } from "./notices.ts";
import { closeAppealsStatements, openAppeals } from "./tickets.ts";

export interface FlagRow {
	id: string;
	node_id: string;
	code: string;
	reason: string;
	share: number;
	author: string;
	created_at: number;
	/** JSON of what the flag rests on (attempts, timings), or null. */
	evidence: string | null;
}

/** The node's owner and name, for telling them of a flag. */
async function ownerOf(db: D1Database, nodeId: string) {
	return db
		.prepare("SELECT account_id, name FROM nodes WHERE id = ?")
		.bind(nodeId)
		.first<{ account_id: string; name: string }>();
}

/**
 * Queues the owner's notice of flag `f`, only if it is the flag just added (same id and creation time, still active): a
 * judgement reached again adds nothing and tells no one twice.
 */
async function tellFlagged(db: D1Database, f: FlagRow): Promise<void> {
	const owner = await ownerOf(db, f.node_id);
	if (!owner) return;
	const guard = {
		sql: "EXISTS (SELECT 1 FROM flags WHERE id = ? AND created_at = ? AND cleared_at IS NULL)",
		params: [f.id, f.created_at],
	};
	await db.batch(noticeStatements(db, owner.account_id, flagNotice(f, owner.name), f.created_at, guard));
}

/** Adds a flag and its audit entry in one batch, then queues the owner's notice of it. */
export async function add(db: D1Database, f: FlagRow, entry: AuditEntry): Promise<void> {
	await audited(
		db,
		db
			.prepare(`INSERT INTO flags (id, node_id, code, reason, share, author, created_at, evidence)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
			.bind(f.id, f.node_id, f.code, f.reason, f.share, f.author, f.created_at, f.evidence),
		entry,
		f.created_at,
	);
	await tellFlagged(db, f);
}

/**
 * Adds a flag unless one with its id exists, active or cleared (a judgement reached twice is one flag, and one staff
 * cleared is not raised again), with its audit entry only if added. True when added.
 */
export async function addOnce(db: D1Database, f: FlagRow, entry: AuditEntry): Promise<boolean> {
	const added = await auditedIf(
		db,
		{ sql: "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM flags WHERE id = ?)", params: [f.id] },
		db
			.prepare(`INSERT OR IGNORE INTO flags (id, node_id, code, reason, share, author, created_at, evidence)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
			.bind(f.id, f.node_id, f.code, f.reason, f.share, f.author, f.created_at, f.evidence),
		entry,
		f.created_at,
	);
	if (added.length > 0) await tellFlagged(db, f);
	return added.length > 0;
}

/**
 * Clears an active flag, with its audit entry; null (and no entry) when there is no active flag `id`. Then closes the
 * loop: each open appeal of the flag gets staff's note and is closed, and the owner is told.
 */
export async function clear(
	db: D1Database,
	id: string,
	entry: AuditEntry,
	now: number,
): Promise<{ node_id: string; code: string } | null> {
	const cleared = await auditedIf(
		db,
		{ sql: "SELECT 1 FROM flags WHERE id = ? AND cleared_at IS NULL", params: [id] },
		db
			.prepare("UPDATE flags SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL RETURNING node_id, code")
			.bind(now, id),
		entry,
		now,
	);
	const flag = (cleared[0] as { node_id: string; code: string } | undefined) ?? null;
	if (flag) await closeLoop(db, { id, ...flag }, entry.actor, now);
	return flag;
}

/** After flag `f` was cleared at `now`: its open appeals answered and closed, and the owner told (if cleared now). */
async function closeLoop(db: D1Database, f: { id: string; node_id: string; code: string }, actor: string, now: number) {
	const [owner, appeals] = await Promise.all([ownerOf(db, f.node_id), openAppeals(db, f.id)]);
	const guard = { sql: "EXISTS (SELECT 1 FROM flags WHERE id = ? AND cleared_at = ?)", params: [f.id, now] };
	await db.batch([
		...closeAppealsStatements(db, f.id, { author: actor, body: flagClearedNote(f.id) }, now, guard),
		...(owner ? noticeStatements(db, owner.account_id, flagClearedNotice(f, appeals), now, guard) : []),
	]);
}

/** Active flags of the given nodes, oldest first, with the latest ticket appealing each (if any). */
export async function activeOf(db: D1Database, nodeIds: string[]) {
	if (nodeIds.length === 0) return [];
	const { results } = await db
		.prepare(`SELECT f.node_id, f.id, f.code, f.reason, f.share, f.created_at, f.evidence,
				(SELECT t.id FROM tickets t WHERE t.flag_id = f.id ORDER BY t.created_at DESC LIMIT 1) AS appeal_ticket_id
			FROM flags f WHERE f.node_id IN (SELECT value FROM json_each(?1)) AND f.cleared_at IS NULL
			ORDER BY f.created_at`)
		.bind(JSON.stringify(nodeIds))
		.all<{
			node_id: string;
			id: string;
			code: string;
			reason: string;
			share: number;
			created_at: number;
			evidence: string | null;
			appeal_ticket_id: string | null;
		}>();
	return results;
}

/** One flag, active or cleared, with its node's owner (an appeal must come from that owner). */
export async function flagWithOwner(db: D1Database, id: string) {
	return db
		.prepare(`SELECT f.id, f.node_id, f.code, f.reason, f.cleared_at, n.account_id FROM flags f
			JOIN nodes n ON n.id = f.node_id WHERE f.id = ?`)
		.bind(id)
		.first<{
			id: string;
			node_id: string;
			code: string;
			reason: string;
			cleared_at: number | null;
			account_id: string;
		}>();
}

/** Flags active at any time during [from, to), per node. */
export async function activeFlags(db: D1Database, nodeIds: string[], from: number, to: number) {
	const out = new Map<string, Penalty[]>();
	const { results } = await db
		.prepare(`SELECT node_id, code, reason, share FROM flags WHERE node_id IN (SELECT value FROM json_each(?1))
			AND created_at < ?3 AND (cleared_at IS NULL OR cleared_at > ?2) ORDER BY created_at`)
		.bind(JSON.stringify(nodeIds), from, to)
		.all<Penalty & { node_id: string }>();
	for (const { node_id, ...p } of results) out.set(node_id, [...(out.get(node_id) ?? []), p]);
	return out;
}
