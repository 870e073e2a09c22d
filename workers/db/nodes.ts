// Owns the `nodes` table: registration, owner edits, soft deletion, and the reads of routes, objects and settlement.
import type { NodeStatus } from "../domain/status.ts";

export interface NodeRow {
	id: string;
	account_id: string;
	name: string;
	public_key: string;
	gpu_model: string;
	gpu_count: number;
	vram_gb: number;
	cpu_cores: number;
	ram_gb: number;
	region: string | null;
	shard: string;
	status: NodeStatus;
	status_since: number;
	last_seen_at: number | null;
	maintenance: number;
	created_at: number;
}

/** Inserts the node; false when its public key is taken (one statement: racing sign-ups cannot both pass). */
export async function create(db: D1Database, row: NodeRow): Promise<boolean> {
	const { meta } = await db
		.prepare(`INSERT INTO nodes (id, account_id, name, public_key, gpu_model, gpu_count, vram_gb, cpu_cores, ram_gb,
				region, shard, status, status_since, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (public_key) DO NOTHING`)
		.bind(
			row.id,
			row.account_id,
			row.name,
			row.public_key,
			row.gpu_model,
			row.gpu_count,
			row.vram_gb,
			row.cpu_cores,
			row.ram_gb,
			row.region,
			row.shard,
			row.status,
			row.status_since,
			row.created_at,
		)
		.run();
	return meta.changes > 0;
}

/** A live (not deleted) node. */
export async function byId(db: D1Database, id: string): Promise<NodeRow | null> {
	return db.prepare("SELECT * FROM nodes WHERE id = ? AND deleted_at IS NULL").bind(id).first<NodeRow>();
}

/** The account's live nodes, oldest first. */
export async function ofAccount(db: D1Database, accountId: string): Promise<NodeRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM nodes WHERE account_id = ? AND deleted_at IS NULL ORDER BY created_at")
		.bind(accountId)
		.all<NodeRow>();
	return results;
}

export async function rename(db: D1Database, id: string, name: string): Promise<void> {
	await db.prepare("UPDATE nodes SET name = ? WHERE id = ?").bind(name, id).run();
}

export async function setMaintenance(db: D1Database, id: string, on: boolean): Promise<void> {
	await db
		.prepare("UPDATE nodes SET maintenance = ? WHERE id = ?")
		.bind(on ? 1 : 0, id)
		.run();
}

export async function softDelete(db: D1Database, id: string, now: number): Promise<void> {
	await db.prepare("UPDATE nodes SET deleted_at = ? WHERE id = ?").bind(now, id).run();
}

/** Every shard that has ever been assigned a node. */
export async function shards(db: D1Database): Promise<string[]> {
	const { results } = await db.prepare("SELECT DISTINCT shard FROM nodes").all<{ shard: string }>();
	return results.map((r) => r.shard);
}

/** Shards that D1 says hold online nodes. */
export async function shardsWithOnlineNodes(db: D1Database): Promise<string[]> {
	const { results } = await db
		.prepare("SELECT DISTINCT shard FROM nodes WHERE status = 'online' AND deleted_at IS NULL")
		.all<{ shard: string }>();
	return results.map((r) => r.shard);
}

export interface EpochNode {
	id: string;
	account_id: string;
	gpu_model: string;
	gpu_count: number;
	shard: string;
	/** When it registered: its probation runs from here (docs/POINTS.md). */
	created_at: number;
}

/** Nodes that existed during [from, to), in id order, a page at a time. */
export async function epochNodes(db: D1Database, from: number, to: number, afterId: string, limit: number) {
	const { results } = await db
		.prepare(`SELECT id, account_id, gpu_model, gpu_count, shard, created_at FROM nodes
			WHERE created_at < ?2 AND (deleted_at IS NULL OR deleted_at > ?1) AND id > ?3 ORDER BY id LIMIT ?4`)
		.bind(from, to, afterId, limit)
		.all<EpochNode>();
	return results;
}

/** True for a `nodes` row whose current claim (model, GPU count) a verification proved (docs/VERIFICATION.md §10). */
const VERIFIED = `EXISTS (SELECT 1 FROM node_verifications v WHERE v.node_id = nodes.id AND v.state = 'verified'
	AND v.gpu_model = nodes.gpu_model AND v.gpu_count = nodes.gpu_count)`;

/** Live nodes and online nodes and GPUs (claimed and verified), in total and per claimed model. */
export async function onlineCounts(db: D1Database) {
	const [totals, models] = await db.batch([
		db.prepare(`SELECT count(*) AS nodes_registered,
				coalesce(sum(status = 'online'), 0) AS nodes_online,
				coalesce(sum(CASE WHEN status = 'online' THEN gpu_count END), 0) AS gpus_online,
				coalesce(sum(CASE WHEN status = 'online' AND ${VERIFIED} THEN gpu_count END), 0) AS gpus_verified_online
			FROM nodes WHERE deleted_at IS NULL`),
		db.prepare(`SELECT gpu_model, count(*) AS nodes, sum(gpu_count) AS gpus,
				coalesce(sum(CASE WHEN ${VERIFIED} THEN gpu_count END), 0) AS verified_gpus
			FROM nodes WHERE deleted_at IS NULL AND status = 'online' GROUP BY gpu_model ORDER BY gpus DESC, gpu_model`),
	]);
	return {
		totals: totals?.results[0] as {
			nodes_registered: number;
			nodes_online: number;
			gpus_online: number;
			gpus_verified_online: number;
		},
		byModel: (models?.results ?? []) as { gpu_model: string; nodes: number; gpus: number; verified_gpus: number }[],
	};
}

/** What the Scheduler's capacity index needs of a node. */
export interface CapacityNode {
	id: string;
	account_id: string;
	gpu_model: string;
	gpu_count: number;
	region: string | null;
	shard: string;
	status: string;
	status_seq: number;
	created_at: number;
	transport: "ws" | "http" | null;
	/** 1 when the current claim is verified. */
	verified: number;
}

/** Every live node with its recorded status (the Scheduler's rebuild). */
export async function capacity(db: D1Database): Promise<CapacityNode[]> {
	const { results } = await db
		.prepare(`SELECT id, account_id, gpu_model, gpu_count, region, shard, status, status_seq, created_at, transport,
			${VERIFIED} AS verified FROM nodes WHERE deleted_at IS NULL`)
		.all<CapacityNode>();
	return results;
}

/** When each of the given nodes was registered. */
export async function createdAt(db: D1Database, ids: string[]): Promise<{ id: string; created_at: number }[]> {
	const { results } = await db
		.prepare("SELECT id, created_at FROM nodes WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.all<{ id: string; created_at: number }>();
	return results;
}

/** The given nodes as if never seen online (`new`, seq 0): the shards' changes bring their status. */
export async function capacityByIds(db: D1Database, ids: string[]): Promise<CapacityNode[]> {
	const { results } = await db
		.prepare(`SELECT id, account_id, gpu_model, gpu_count, region, shard, 'new' AS status, 0 AS status_seq, created_at,
			transport, ${VERIFIED} AS verified FROM nodes WHERE id IN (SELECT value FROM json_each(?1))`)
		.bind(JSON.stringify(ids))
		.all<CapacityNode>();
	return results;
}

/** Names of the account's nodes by id, deleted ones included (their alerts still name them). */
export async function names(db: D1Database, accountId: string): Promise<Map<string, string>> {
	const { results } = await db
		.prepare("SELECT id, name FROM nodes WHERE account_id = ?")
		.bind(accountId)
		.all<{ id: string; name: string }>();
	return new Map(results.map((r) => [r.id, r.name]));
}

/** Owner account of each of the given nodes, deleted ones included. */
export async function owners(db: D1Database, ids: string[]): Promise<Map<string, string>> {
	const { results } = await db
		.prepare("SELECT id, account_id FROM nodes WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.all<{ id: string; account_id: string }>();
	return new Map(results.map((r) => [r.id, r.account_id]));
}
