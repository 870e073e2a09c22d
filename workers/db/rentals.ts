// Owns the `rentals` table: the stretches each node worked for a cluster (the ledger's compute part).

/** Records rental starts (rows of node_id, gpu_count, started_at) in one statement; one already recorded is ignored. */
export async function start(
	db: D1Database,
	clusterId: string,
	starts: readonly Record<string, unknown>[],
): Promise<void> {
	await db
		.prepare(`INSERT OR IGNORE INTO rentals (node_id, cluster_id, gpu_count, started_at)
			SELECT value->>'node_id', ?1, value->>'gpu_count', value->>'started_at' FROM json_each(?2)`)
		.bind(clusterId, JSON.stringify(starts))
		.run();
}

/** Ends the open rentals of the given nodes; a rental never ends before it started. */
export async function end(
	db: D1Database,
	clusterId: string,
	ends: readonly { node_id: string; ended_at: number | null }[],
): Promise<void> {
	await db
		.prepare(`UPDATE rentals SET ended_at = max(rentals.started_at, j.value->>'ended_at') FROM json_each(?2) AS j
			WHERE rentals.cluster_id = ?1 AND rentals.node_id = j.value->>'node_id' AND rentals.ended_at IS NULL`)
		.bind(clusterId, JSON.stringify(ends))
		.run();
}

export interface RentalRow {
	node_id: string;
	gpu_count: number;
	started_at: number;
	ended_at: number | null;
}

/** The rentals of the given nodes that overlap [from, to), per node. */
export async function rentalsIn(db: D1Database, nodeIds: string[], from: number, to: number) {
	const { results } = await db
		.prepare(`SELECT node_id, gpu_count, started_at, ended_at FROM rentals
			WHERE node_id IN (SELECT value FROM json_each(?1)) AND started_at < ?3 AND (ended_at IS NULL OR ended_at > ?2)`)
		.bind(JSON.stringify(nodeIds), from, to)
		.all<RentalRow>();
	const out = new Map<string, RentalRow[]>();
	for (const r of results) out.set(r.node_id, [...(out.get(r.node_id) ?? []), r]);
	return out;
}
