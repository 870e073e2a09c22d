// Owns the `audit_log` table: every admin or staff action, who did it, to what, with its details.

export interface AuditEntry {
	actor: string;
	action: string;
	target: string | null;
	details: unknown;
}

export interface AuditRow {
	id: number;
	at: number;
	actor: string;
	action: string;
	target: string | null;
	details: string;
}

function entryStatement(db: D1Database, e: AuditEntry, now: number): D1PreparedStatement {
	return db
		.prepare("INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)")
		.bind(now, e.actor, e.action, e.target, JSON.stringify(e.details));
}

export async function record(db: D1Database, e: AuditEntry, now: number): Promise<void> {
	await entryStatement(db, e, now).run();
}

/** Runs `change` and records its entry in one batch (a transaction): the change and its trace land together. */
export async function audited(db: D1Database, change: D1PreparedStatement, e: AuditEntry, now: number): Promise<void> {
	await db.batch([change, entryStatement(db, e, now)]);
}

/**
 * Runs `change` (a statement with `RETURNING`) and records its entry only when `exists` (SQL with its own `?`
 * parameters) finds a row: batched before the change, the check sees the state the change is conditioned on, so a
 * refused change leaves no entry. Returns the rows the change returned.
 */
export async function auditedIf(
	db: D1Database,
	exists: { sql: string; params: unknown[] },
	change: D1PreparedStatement,
	e: AuditEntry,
	now: number,
): Promise<unknown[]> {
	const [, changed] = await db.batch([
		db
			.prepare(`INSERT INTO audit_log (at, actor, action, target, details)
				SELECT ?, ?, ?, ?, ? WHERE EXISTS (${exists.sql})`)
			.bind(now, e.actor, e.action, e.target, JSON.stringify(e.details), ...exists.params),
		change,
	]);
	return changed?.results ?? [];
}

/** The newest entries first. */
export async function latest(db: D1Database, limit: number): Promise<AuditRow[]> {
	const { results } = await db.prepare("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?").bind(limit).all<AuditRow>();
	return results;
}
