// Reads for the points ledger's address allowance (docs/POINTS.md "Address allowance"): the address key of each node's
// latest connection (`node_identity`, private) and the GPUs co-scheduled rounds proved behind an address
// (`address_allowances`). Both tables are written elsewhere (the node link, the round judge); this module only reads.

/** A node of an epoch behind one of the address keys asked about, with what its credited GPUs and probation need. */
export interface AddressPeer {
	id: string;
	address_key: string;
	gpu_model: string;
	gpu_count: number;
	created_at: number;
}

/**
 * The address key of each given node's latest connection. Nodes that never connected, and connections whose address
 * the edge did not give (`unknown`), are absent: they are not grouped with anyone.
 */
export async function addressKeysOf(db: D1Database, ids: string[]): Promise<Map<string, string>> {
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT node_id, address_key FROM node_identity
			WHERE node_id IN (SELECT value FROM json_each(?1)) AND address_key != 'unknown'`)
		.bind(JSON.stringify(ids))
		.all<{ node_id: string; address_key: string }>();
	return new Map(results.map((r) => [r.node_id, r.address_key]));
}

/** The nodes that existed during [from, to) (as the ledger counts them) whose latest connection came from `keys`. */
export async function nodesBehind(db: D1Database, keys: string[], from: number, to: number): Promise<AddressPeer[]> {
	if (keys.length === 0) return [];
	const { results } = await db
		.prepare(`SELECT n.id, i.address_key, n.gpu_model, n.gpu_count, n.created_at
			FROM node_identity i JOIN nodes n ON n.id = i.node_id
			WHERE i.address_key IN (SELECT value FROM json_each(?1))
			  AND n.created_at < ?3 AND (n.deleted_at IS NULL OR n.deleted_at > ?2)
			ORDER BY n.id`)
		.bind(JSON.stringify(keys), from, to)
		.all<AddressPeer>();
	return results;
}

/** The GPUs a co-scheduled round proved behind each of `keys` (keys with no such round are absent). */
export async function provenAllowances(db: D1Database, keys: string[]): Promise<Map<string, number>> {
	if (keys.length === 0) return new Map();
	const { results } = await db
		.prepare(`SELECT address_key, gpus FROM address_allowances
			WHERE address_key IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(keys))
		.all<{ address_key: string; gpus: number }>();
	return new Map(results.map((r) => [r.address_key, r.gpus]));
}
