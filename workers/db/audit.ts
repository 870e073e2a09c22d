// Owns the `audit_log` table: every admin, staff or credential action, who did it, to what (and so to whose account),
// with its details.

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

/**
 * An entry as an `INSERT … SELECT` over the row `(SELECT ? AS t)` (t = the target), filling `account_id` (0016): the
 * account the entry concerns, found from its target in the same statement (`account:<id>`, `node:<id>`, `flag:<id>`
 * or `key:<id>`; NULL for anything else), so every writer's entry is readable by that account (GET /v1/me/audit).
 * `where` (SQL with its own `?` parameters, bound after the entry's) decides whether the row is written at all.
 */
function insertEntry(db: D1Database, e: AuditEntry, now: number, where = "", params: unknown[] = []) {
	return db
		.prepare(`INSERT INTO audit_log (at, actor, action, details, target, account_id)
			SELECT ?, ?, ?, ?, t, CASE
				WHEN t LIKE 'account:%' THEN substr(t, 9)
				WHEN t LIKE 'node:%' THEN (SELECT n.account_id FROM nodes n WHERE n.id = substr(t, 6))
				WHEN t LIKE 'flag:%' THEN (SELECT n.account_id FROM flags f JOIN nodes n ON n.id = f.node_id
					WHERE f.id = substr(t, 6))
				WHEN t LIKE 'key:%' THEN (SELECT k.account_id FROM api_keys k WHERE k.id = substr(t, 5))
			END
			FROM (SELECT ? AS t) ${where}`)
		.bind(now, e.actor, e.action, JSON.stringify(e.details), e.target, ...params);
}

function entryStatement(db: D1Database, e: AuditEntry, now: number): D1PreparedStatement {
	return insertEntry(db, e, now);
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
	const [, changed] = await db.batch([insertEntry(db, e, now, `WHERE EXISTS (${exists.sql})`, exists.params), change]);
	return changed?.results ?? [];
}

/** An account's entries (those whose target is its own), newest first, older than entry `before` when given. */
export async function ofAccount(
	db: D1Database,
	accountId: string,
	limit: number,
	before: number | null,
): Promise<AuditRow[]> {
	const { results } = await db
		.prepare(`SELECT id, at, actor, action, target, details FROM audit_log
			WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?`)
		.bind(accountId, before ?? Number.MAX_SAFE_INTEGER, limit)
		.all<AuditRow>();
	return results;
}

/**
 * Runs `change`, then records its entry only when `exists` (SQL with its own `?` parameters) finds a row after the
 * change: for a change that may insert nothing, whose entry's account is found through the row it inserts. One batch.
 */
export async function auditedAfter(
	db: D1Database,
	change: D1PreparedStatement,
	exists: { sql: string; params: unknown[] },
	e: AuditEntry,
	now: number,
): Promise<D1Result> {
	const [changed] = await db.batch([change, insertEntry(db, e, now, `WHERE EXISTS (${exists.sql})`, exists.params)]);
	return changed as D1Result;
}

/** The newest entries first. */
export async function latest(db: D1Database, limit: number): Promise<AuditRow[]> {
	const { results } = await db.prepare("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?").bind(limit).all<AuditRow>();
	return results;
}
