// Owns the `node_identity` and `gpu_uuids` tables: where each node's latest connection came from (private) and the
// GPU UUIDs its agent reported (docs/VERIFICATION.md §13); the settlement reads the address keys for the allowance.
import type { ObservedAddress } from "../domain/identity.ts";

export interface IdentityRow extends ObservedAddress {
	gpu_uuids: string;
	first_seen_at: number;
	seen_at: number;
}

export async function identityOf(db: D1Database, nodeId: string): Promise<IdentityRow | null> {
	return db
		.prepare(`SELECT address, address_key, network, gpu_uuids, first_seen_at, seen_at FROM node_identity
			WHERE node_id = ?`)
		.bind(nodeId)
		.first<IdentityRow>();
}

/**
 * Records the connection's address and UUIDs (`seen_at` is when these values were first seen together) and replaces
 * the node's UUID rows, in one batch. The caller writes only when something changed, so a reconnect from the same
 * line writes nothing.
 */
export async function recordIdentity(
	db: D1Database,
	nodeId: string,
	a: ObservedAddress,
	uuids: string[],
	now: number,
): Promise<void> {
	await db.batch([
		db
			.prepare(`INSERT INTO node_identity (node_id, address, address_key, network, gpu_uuids, first_seen_at, seen_at)
				VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
				ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, address_key = excluded.address_key,
				  network = excluded.network, gpu_uuids = excluded.gpu_uuids, seen_at = excluded.seen_at`)
			.bind(nodeId, a.address, a.address_key, a.network, JSON.stringify(uuids), now),
		db
			.prepare("DELETE FROM gpu_uuids WHERE node_id = ?1 AND uuid NOT IN (SELECT value FROM json_each(?2))")
			.bind(nodeId, JSON.stringify(uuids)),
		db
			.prepare(`INSERT OR IGNORE INTO gpu_uuids (uuid, node_id, seen_at)
				SELECT value, ?1, ?2 FROM json_each(?3)`)
			.bind(nodeId, now, JSON.stringify(uuids)),
	]);
}

/** Other live (not deleted) nodes that reported any of `uuids`, with their claims. */
export async function otherHolders(db: D1Database, nodeId: string, uuids: string[]) {
	if (uuids.length === 0) return [];
	const { results } = await db
		.prepare(`SELECT u.uuid, n.id AS node_id, n.gpu_model, n.gpu_count FROM gpu_uuids u JOIN nodes n ON n.id = u.node_id
			WHERE u.uuid IN (SELECT value FROM json_each(?1)) AND u.node_id != ?2 AND n.deleted_at IS NULL
			ORDER BY u.uuid, n.id`)
		.bind(JSON.stringify(uuids), nodeId)
		.all<{ uuid: string; node_id: string; gpu_model: string; gpu_count: number }>();
	return results;
}

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
