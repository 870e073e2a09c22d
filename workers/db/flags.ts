// Owns the `flags` table: penalties on nodes (a share of their points withheld while active), set by staff.
import type { Penalty } from "../domain/points.ts";
import { audited, auditedIf, type AuditEntry } from "./audit.ts";

export interface FlagRow {
	id: string;
	node_id: string;
	code: string;
	reason: string;
	share: number;
	author: string;
	created_at: number;
}

/** Adds a flag and its audit entry in one batch. */
export async function add(db: D1Database, f: FlagRow, entry: AuditEntry): Promise<void> {
	await audited(
		db,
		db
			.prepare("INSERT INTO flags (id, node_id, code, reason, share, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
			.bind(f.id, f.node_id, f.code, f.reason, f.share, f.author, f.created_at),
		entry,
		f.created_at,
	);
}

/** Clears an active flag, with its audit entry; false (and no entry) when there is no active flag `id`. */
export async function clear(db: D1Database, id: string, entry: AuditEntry, now: number): Promise<boolean> {
	const cleared = await auditedIf(
		db,
		{ sql: "SELECT 1 FROM flags WHERE id = ? AND cleared_at IS NULL", params: [id] },
		db.prepare("UPDATE flags SET cleared_at = ? WHERE id = ? AND cleared_at IS NULL RETURNING node_id").bind(now, id),
		entry,
		now,
	);
	return cleared.length > 0;
}

/** Active flags of the given nodes, oldest first. */
export async function activeOf(db: D1Database, nodeIds: string[]) {
	if (nodeIds.length === 0) return [];
	const { results } = await db
		.prepare(`SELECT node_id, id, code, reason, share, created_at FROM flags
			WHERE node_id IN (SELECT value FROM json_each(?1)) AND cleared_at IS NULL ORDER BY created_at`)
		.bind(JSON.stringify(nodeIds))
		.all<{ node_id: string; id: string; code: string; reason: string; share: number; created_at: number }>();
	return results;
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
