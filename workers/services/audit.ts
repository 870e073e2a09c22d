// The audit log as staff read it and as each account reads its own: entries newest first, their details parsed back.
import * as audit from "../db/audit.ts";
import { iso } from "../http.ts";

export async function listAudit(db: D1Database, limit: number) {
	return (await audit.latest(db, limit)).map((r) => ({
		...r,
		at: iso(r.at),
		details: JSON.parse(r.details) as unknown,
	}));
}

/**
 * The entries concerning an account (its keys, nodes, flags, money and role), newest first, `limit` at a time;
 * `cursor` (a page's `next_cursor`) continues after that page. `next_cursor` is null on the last page.
 */
export async function accountAudit(db: D1Database, accountId: string, limit: number, cursor: string | null) {
	const rows = await audit.ofAccount(db, accountId, limit + 1, cursor === null ? null : Number(cursor));
	const page = rows.slice(0, limit);
	return {
		entries: page.map((r) => ({ ...r, at: iso(r.at), details: JSON.parse(r.details) as unknown })),
		next_cursor: rows.length > limit ? String((page[page.length - 1] as audit.AuditRow).id) : null,
	};
}
