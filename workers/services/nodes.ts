// Nodes in D1: registration, reads for owners and the public, owner edits, and uptime from recorded intervals.
import { iso } from "../http.ts";
import { newId } from "../ids.ts";
import { assignShard } from "../domain/shards.ts";
import type { NodeStatus } from "../domain/status.ts";
import { uptime, type Interval } from "../domain/uptime.ts";

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

export interface NewNode {
	name: string;
	public_key: string;
	hardware: { gpu_model: string; gpu_count: number; vram_gb: number; cpu_cores: number; ram_gb: number };
	region?: string | undefined;
}

export const DAY_MS = 24 * 3600 * 1000;

/** Inserts the node; null when its public key is already registered (one check, so racing sign-ups cannot both pass). */
export async function createNode(db: D1Database, accountId: string, input: NewNode, shardCount: number, now: number): Promise<NodeRow | null> {
	const id = newId("node");
	const h = input.hardware;
	const row: NodeRow = {
		id, account_id: accountId, name: input.name, public_key: input.public_key, gpu_model: h.gpu_model,
		gpu_count: h.gpu_count, vram_gb: h.vram_gb, cpu_cores: h.cpu_cores, ram_gb: h.ram_gb, region: input.region ?? null,
		shard: assignShard(id, input.region ?? null, shardCount), status: "new", status_since: now, last_seen_at: null,
		maintenance: 0, created_at: now,
	};
	const { meta } = await db
		.prepare(`INSERT INTO nodes (id, account_id, name, public_key, gpu_model, gpu_count, vram_gb, cpu_cores, ram_gb, region, shard, status, status_since, created_at)
		          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?) ON CONFLICT (public_key) DO NOTHING`)
		.bind(row.id, accountId, row.name, row.public_key, row.gpu_model, row.gpu_count, row.vram_gb, row.cpu_cores, row.ram_gb, row.region, row.shard, now, now)
		.run();
	return meta.changes > 0 ? row : null;
}

export async function getNodeRow(db: D1Database, id: string): Promise<NodeRow | null> {
	return db.prepare("SELECT * FROM nodes WHERE id = ? AND deleted_at IS NULL").bind(id).first<NodeRow>();
}

export async function listNodeRows(db: D1Database, accountId: string): Promise<NodeRow[]> {
	const { results } = await db.prepare("SELECT * FROM nodes WHERE account_id = ? AND deleted_at IS NULL ORDER BY created_at").bind(accountId).all<NodeRow>();
	return results;
}

export async function renameNode(db: D1Database, id: string, name: string): Promise<void> {
	await db.prepare("UPDATE nodes SET name = ? WHERE id = ?").bind(name, id).run();
}

export async function setMaintenanceFlag(db: D1Database, id: string, on: boolean): Promise<void> {
	await db.prepare("UPDATE nodes SET maintenance = ? WHERE id = ?").bind(on ? 1 : 0, id).run();
}

export async function softDeleteNode(db: D1Database, id: string, now: number): Promise<void> {
	await db.prepare("UPDATE nodes SET deleted_at = ? WHERE id = ?").bind(now, id).run();
}

/** Online intervals of the given nodes that overlap [from, to]. */
export async function intervalsFor(db: D1Database, nodeIds: string[], from: number, to: number): Promise<Map<string, Interval[]>> {
	const out = new Map<string, Interval[]>(nodeIds.map((id) => [id, []]));
	if (nodeIds.length === 0) return out;
	const { results } = await db
		.prepare(`SELECT node_id, started_at, ended_at FROM online_intervals
		          WHERE node_id IN (SELECT value FROM json_each(?1)) AND started_at <= ?3 AND (ended_at IS NULL OR ended_at >= ?2)`)
		.bind(JSON.stringify(nodeIds), from, to)
		.all<Interval & { node_id: string }>();
	for (const r of results) out.get(r.node_id)?.push(r);
	return out;
}

/** Share of the last 24 h (or of the node's life, if younger) that the node was online. */
export function uptime24h(row: NodeRow, intervals: Interval[], now: number): number {
	const u = uptime(intervals, Math.max(now - DAY_MS, row.created_at), now, now);
	return Math.round(u.ratio * 10000) / 10000;
}

export interface FlagView { id: string; code: string; reason: string; share: number; created_at: string | null }

/** Active flags of the given nodes: public, each with its reason (appeal through a support ticket). */
export async function flagsFor(db: D1Database, nodeIds: string[]): Promise<Map<string, FlagView[]>> {
	const out = new Map<string, FlagView[]>();
	if (nodeIds.length === 0) return out;
	const { results } = await db
		.prepare("SELECT node_id, id, code, reason, share, created_at FROM flags WHERE node_id IN (SELECT value FROM json_each(?1)) AND cleared_at IS NULL ORDER BY created_at")
		.bind(JSON.stringify(nodeIds)).all<{ node_id: string; id: string; code: string; reason: string; share: number; created_at: number }>();
	for (const { node_id, ...f } of results) out.set(node_id, [...(out.get(node_id) ?? []), { ...f, created_at: iso(f.created_at) }]);
	return out;
}

export interface Live {
	status: NodeStatus;
	last_seen_at: number | null;
	/** This epoch's availability challenges, when the shard answered. */
	challenges?: { issued: number; passed: number; failed: number; missed: number };
}

/** What anyone may see of a node. */
export function publicNodeView(row: NodeRow, live: Live, uptimeRatio: number, flags: FlagView[] = []) {
	return {
		id: row.id, name: row.name, status: live.status, status_since: iso(row.status_since), last_seen_at: iso(live.last_seen_at),
		uptime_24h: uptimeRatio, region: row.region, challenges: live.challenges ?? null,
		hardware: { gpu_model: row.gpu_model, gpu_count: row.gpu_count, vram_gb: row.vram_gb, verified: false },
		flags,
		created_at: iso(row.created_at),
	};
}

/** What the owner sees: everything, including the key and shard. */
export function ownerNodeView(row: NodeRow, live: Live, uptimeRatio: number, flags: FlagView[] = []) {
	const pub = publicNodeView(row, live, uptimeRatio, flags);
	return {
		...pub, account_id: row.account_id, public_key: row.public_key, shard: row.shard, maintenance: row.maintenance === 1,
		hardware: { ...pub.hardware, cpu_cores: row.cpu_cores, ram_gb: row.ram_gb },
	};
}
