// Owns the `rentals` table: the stretches each node worked for a cluster (the ledger's compute part), and the reads
// that judge whether its renter was independent of the node's operator (docs/POINTS.md "Rented time that counts").

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
	cluster_id: string;
	gpu_count: number;
	started_at: number;
	ended_at: number | null;
	/** The renter's account and the price per GPU-hour (cents) from the cluster's row; null when there is none. */
	renter_id: string | null;
	price_cents: number | null;
}

/** The rentals of the given nodes that overlap [from, to), per node, with their renter and price. */
export async function rentalsIn(db: D1Database, nodeIds: string[], from: number, to: number) {
	const { results } = await db
		.prepare(`SELECT r.node_id, r.cluster_id, r.gpu_count, r.started_at, r.ended_at,
			       c.account_id AS renter_id, c.price_cents
			FROM rentals r LEFT JOIN clusters c ON c.id = r.cluster_id
			WHERE r.node_id IN (SELECT value FROM json_each(?1)) AND r.started_at < ?3
			  AND (r.ended_at IS NULL OR r.ended_at > ?2)
			ORDER BY r.node_id, r.started_at, r.cluster_id`)
		.bind(JSON.stringify(nodeIds), from, to)
		.all<RentalRow>();
	const out = new Map<string, RentalRow[]>();
	for (const r of results) out.set(r.node_id, [...(out.get(r.node_id) ?? []), r]);
	return out;
}

/** A renter of a node, and the node's operator: different accounts whose ties `tiedRenters` looks for. */
export interface RenterPair {
	node_id: string;
	operator: string;
	renter: string;
}

/** `node_id renter`: the key of a pair in `tiedRenters`' answer. */
export const pairKey = (p: { node_id: string; renter: string }) => `${p.node_id} ${p.renter}`;

/**
 * The pairs whose renter is tied to the operator by what the coordinator records: a Discord user or Telegram chat
 * that redeemed link codes of both accounts (now or ever: `link_codes.used_by`), or a node of the renter's whose latest
 * connection came from the rented node's address unit (`node_identity.address_key`; `unknown` ties nobody).
 */
export async function tiedRenters(db: D1Database, pairs: RenterPair[]): Promise<Set<string>> {
	if (pairs.length === 0) return new Set();
	const { results } = await db
		.prepare(`WITH p AS (SELECT DISTINCT value->>'node_id' AS node_id, value->>'operator' AS operator,
			                        value->>'renter' AS renter FROM json_each(?1))
			SELECT p.node_id, p.renter FROM p
			WHERE EXISTS (SELECT 1 FROM link_codes a JOIN link_codes b ON b.used_by = a.used_by
			              WHERE a.account_id = p.renter AND b.account_id = p.operator AND a.used_by IS NOT NULL)
			   OR EXISTS (SELECT 1 FROM node_identity theirs JOIN node_identity mine ON mine.address_key = theirs.address_key
			              JOIN nodes n ON n.id = mine.node_id
			              WHERE theirs.node_id = p.node_id AND theirs.address_key != 'unknown' AND n.account_id = p.renter)`)
		.bind(JSON.stringify(pairs))
		.all<{ node_id: string; renter: string }>();
	return new Set(results.map(pairKey));
}
