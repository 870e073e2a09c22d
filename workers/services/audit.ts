// The audit log: every admin or staff action, who did it, to what, with its details.
import { iso } from "../http.ts";

export function auditStatement(db: D1Database, actor: string, action: string, target: string | null, details: unknown, now: number): D1PreparedStatement {
	return db.prepare("INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)").bind(now, actor, action, target, JSON.stringify(details));
}

/**
 * The same entry, written only when `exists` (SQL with its own `?` parameters) finds a row: batched before the
 * change it records, it sees the state the change is conditioned on, so a refused change leaves no entry.
 */
export function auditStatementIf(db: D1Database, exists: { sql: string; params: unknown[] }, actor: string, action: string, target: string | null, details: unknown, now: number): D1PreparedStatement {
	return db.prepare(`INSERT INTO audit_log (at, actor, action, target, details) SELECT ?, ?, ?, ?, ? WHERE EXISTS (${exists.sql})`)
		.bind(now, actor, action, target, JSON.stringify(details), ...exists.params);
}

export async function audit(db: D1Database, actor: string, action: string, target: string | null, details: unknown, now: number): Promise<void> {
	await auditStatement(db, actor, action, target, details, now).run();
}

export async function listAudit(db: D1Database, limit: number) {
	const { results } = await db.prepare("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?").bind(limit).all<{ id: number; at: number; actor: string; action: string; target: string | null; details: string }>();
	return results.map((r) => ({ ...r, at: iso(r.at), details: JSON.parse(r.details) as unknown }));
}
