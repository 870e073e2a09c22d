// The audit log as staff read it: entries newest first, their details parsed back.
import * as audit from "../db/audit.ts";
import { iso } from "../http.ts";

export async function listAudit(db: D1Database, limit: number) {
	return (await audit.latest(db, limit)).map((r) => ({
		...r,
		at: iso(r.at),
		details: JSON.parse(r.details) as unknown,
	}));
}
