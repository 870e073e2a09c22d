// Owns the `epochs` table: opening, closing and settling points epochs, and reading them back.

export interface EpochRow {
	n: number;
	started_at: number;
	ended_at: number | null;
	settled_at: number | null;
	root: string | null;
	nodes: number | null;
	total_points: number | null;
	emission: number | null;
}

export async function getEpoch(db: D1Database, n: number): Promise<EpochRow | null> {
	return db.prepare("SELECT * FROM epochs WHERE n = ?").bind(n).first<EpochRow>();
}

export async function firstEpoch(db: D1Database): Promise<EpochRow | null> {
	return db.prepare("SELECT * FROM epochs ORDER BY n LIMIT 1").first<EpochRow>();
}

/** The open epoch's number without creating it: 1 before the first epoch exists. */
export async function openEpochNumber(db: D1Database): Promise<number> {
	const row = await db.prepare("SELECT max(n) AS n FROM epochs WHERE ended_at IS NULL").first<{ n: number | null }>();
	if (row?.n) return row.n;
	const last = await db.prepare("SELECT max(n) AS n FROM epochs").first<{ n: number | null }>();
	return (last?.n ?? 0) + 1;
}

/** The open epoch, created (as epoch 1, starting now) the first time it is asked for. */
export async function openEpoch(db: D1Database, now: number): Promise<EpochRow> {
	const open = () =>
		db.prepare("SELECT * FROM epochs WHERE ended_at IS NULL ORDER BY n DESC LIMIT 1").first<EpochRow>();
	const found = await open();
	if (found) return found;
	await db.prepare("INSERT OR IGNORE INTO epochs (n, started_at) VALUES (1, ?)").bind(now).run();
	return (await open()) as EpochRow;
}

/** Ends epoch `n` at `at` and starts `n + 1` there, atomically; a second call changes nothing. */
export async function closeEpoch(db: D1Database, n: number, at: number): Promise<void> {
	await db.batch([
		db.prepare("UPDATE epochs SET ended_at = ? WHERE n = ? AND ended_at IS NULL").bind(at, n),
		db
			.prepare("INSERT OR IGNORE INTO epochs (n, started_at) SELECT ?, ended_at FROM epochs WHERE n = ?")
			.bind(n + 1, n),
	]);
}

export async function unsettledClosedEpochs(db: D1Database): Promise<EpochRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM epochs WHERE ended_at IS NOT NULL AND settled_at IS NULL ORDER BY n")
		.all<EpochRow>();
	return results;
}

/** Publishes a settled epoch's root and totals; an epoch already settled is left as it was. */
export async function markSettled(
	db: D1Database,
	e: { n: number; root: string; nodes: number; total_points: number; emission: number },
	now: number,
): Promise<void> {
	await db
		.prepare(`UPDATE epochs SET settled_at = ?, root = ?, nodes = ?, total_points = ?, emission = ?
			WHERE n = ? AND settled_at IS NULL`)
		.bind(now, e.root, e.nodes, e.total_points, e.emission, e.n)
		.run();
}

export async function latestSettled(db: D1Database): Promise<EpochRow | null> {
	return db.prepare("SELECT * FROM epochs WHERE settled_at IS NOT NULL ORDER BY n DESC LIMIT 1").first<EpochRow>();
}

/** The first settled epoch that ended after `endedAfter`, or null when none did. */
export async function firstSettledAfter(db: D1Database, endedAfter: number): Promise<number | null> {
	const row = await db
		.prepare("SELECT min(n) AS n FROM epochs WHERE settled_at IS NOT NULL AND ended_at > ?")
		.bind(endedAfter)
		.first<{ n: number | null }>();
	return row?.n ?? null;
}
