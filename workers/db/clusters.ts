// Owns the `clusters` table: each rented cluster's summary row (its detail lives in its Cluster object).

export interface ClusterRow {
	id: string;
	account_id: string;
	gpu_model: string;
	gpu_count: number;
	hours: number;
	status: string;
	price_cents: number;
	created_at: number;
	ended_at: number | null;
}

/** Creates the cluster's row, or brings its status and end up to date. */
export async function record(db: D1Database, c: ClusterRow): Promise<void> {
	await db
		.prepare(`INSERT INTO clusters
			(id, account_id, gpu_model, gpu_count, hours, status, price_cents, created_at, ended_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, ended_at = excluded.ended_at`)
		.bind(c.id, c.account_id, c.gpu_model, c.gpu_count, c.hours, c.status, c.price_cents, c.created_at, c.ended_at)
		.run();
}

export async function setStatus(db: D1Database, id: string, status: string, endedAt: number | null): Promise<void> {
	await db.prepare("UPDATE clusters SET status = ?, ended_at = ? WHERE id = ?").bind(status, endedAt, id).run();
}

export async function byId(db: D1Database, id: string): Promise<ClusterRow | null> {
	return db.prepare("SELECT * FROM clusters WHERE id = ?").bind(id).first<ClusterRow>();
}

/** The account's clusters, newest first. */
export async function ofAccount(db: D1Database, accountId: string, limit: number): Promise<ClusterRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM clusters WHERE account_id = ? ORDER BY created_at DESC LIMIT ?")
		.bind(accountId, limit)
		.all<ClusterRow>();
	return results;
}
