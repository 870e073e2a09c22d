// Epochs and the points ledger in D1: closing epochs, gathering a window's inputs, writing and reading rows.
import { iso } from "../http.ts";
import type { AccrualInterval } from "../domain/accrual.ts";
import type { Penalty } from "../domain/points.ts";

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

export interface LedgerRow {
	epoch: number; node_id: string; account_id: string; gpu_model: string; gpu_count: number; tier: string;
	tier_weight_bp: number; verified: number; online_seconds: number; incident_seconds: number; rented_gpu_seconds: number;
	challenges_issued: number; challenges_passed: number; challenges_failed: number; challenges_missed: number;
	availability_points: number; compute_points: number; penalty_points: number; points: number;
	penalties: string; reward: number; leaf: string;
}

export interface EpochNode { id: string; account_id: string; gpu_model: string; gpu_count: number; shard: string }

export function epochStatus(e: EpochRow): "open" | "closing" | "settled" {
	return e.settled_at !== null ? "settled" : e.ended_at !== null ? "closing" : "open";
}

export function epochView(e: EpochRow) {
	return {
		epoch: e.n, status: epochStatus(e), started_at: iso(e.started_at), ended_at: iso(e.ended_at), settled_at: iso(e.settled_at),
		root: e.root, nodes: e.nodes, total_points: e.total_points, emission: e.emission,
	};
}

export async function getEpoch(db: D1Database, n: number): Promise<EpochRow | null> {
	return db.prepare("SELECT * FROM epochs WHERE n = ?").bind(n).first<EpochRow>();
}

export async function firstEpoch(db: D1Database): Promise<EpochRow | null> {
	return db.prepare("SELECT * FROM epochs ORDER BY n LIMIT 1").first<EpochRow>();
}

/** The open epoch, created (as epoch 1, starting now) the first time it is asked for. */
export async function openEpoch(db: D1Database, now: number): Promise<EpochRow> {
	const open = await db.prepare("SELECT * FROM epochs WHERE ended_at IS NULL ORDER BY n DESC LIMIT 1").first<EpochRow>();
	if (open) return open;
	await db.prepare("INSERT OR IGNORE INTO epochs (n, started_at) VALUES (1, ?)").bind(now).run();
	return (await db.prepare("SELECT * FROM epochs WHERE ended_at IS NULL ORDER BY n DESC LIMIT 1").first<EpochRow>()) as EpochRow;
}

/** Ends epoch `n` at `at` and starts `n + 1` there, atomically; a second call changes nothing. */
export async function closeEpoch(db: D1Database, n: number, at: number): Promise<void> {
	await db.batch([
		db.prepare("UPDATE epochs SET ended_at = ? WHERE n = ? AND ended_at IS NULL").bind(at, n),
		db.prepare("INSERT OR IGNORE INTO epochs (n, started_at) SELECT ?, ended_at FROM epochs WHERE n = ?").bind(n + 1, n),
	]);
}

export async function unsettledClosedEpochs(db: D1Database): Promise<EpochRow[]> {
	return (await db.prepare("SELECT * FROM epochs WHERE ended_at IS NOT NULL AND settled_at IS NULL ORDER BY n").all<EpochRow>()).results;
}

/** Nodes that existed during [from, to), in id order, a page at a time. */
export async function epochNodes(db: D1Database, from: number, to: number, afterId: string, limit: number): Promise<EpochNode[]> {
	return (await db
		.prepare(`SELECT id, account_id, gpu_model, gpu_count, shard FROM nodes
		          WHERE created_at < ?2 AND (deleted_at IS NULL OR deleted_at > ?1) AND id > ?3 ORDER BY id LIMIT ?4`)
		.bind(from, to, afterId, limit).all<EpochNode>()).results;
}

export async function distinctShards(db: D1Database): Promise<string[]> {
	return (await db.prepare("SELECT DISTINCT shard FROM nodes").all<{ shard: string }>()).results.map((r) => r.shard);
}

/** Intervals of the given nodes that can count in [from, to): overlapping it, or ended in an incident shortly before. */
export async function windowIntervals(db: D1Database, nodeIds: string[], from: number, to: number): Promise<Map<string, AccrualInterval[]>> {
	const out = new Map<string, AccrualInterval[]>(nodeIds.map((id) => [id, []]));
	const { results } = await db
		.prepare(`SELECT node_id, started_at, ended_at, incident_id FROM online_intervals
		          WHERE node_id IN (SELECT value FROM json_each(?1)) AND started_at < ?3
		            AND (ended_at IS NULL OR ended_at >= ?2 OR (incident_id IS NOT NULL AND ended_at >= ?2 - 86400000))`)
		.bind(JSON.stringify(nodeIds), from, to).all<AccrualInterval & { node_id: string }>();
	for (const r of results) out.get(r.node_id)?.push(r);
	return out;
}

/** GPU-seconds each node worked for clusters within [from, to) (rental intervals clipped to the window). */
export async function rentedGpuSeconds(db: D1Database, nodeIds: string[], from: number, to: number): Promise<Map<string, number>> {
	const { results } = await db
		.prepare(`SELECT node_id, sum((min(coalesce(ended_at, ?3), ?3) - max(started_at, ?2)) * gpu_count) / 1000 AS s FROM rentals
		          WHERE node_id IN (SELECT value FROM json_each(?1)) AND started_at < ?3 AND (ended_at IS NULL OR ended_at > ?2)
		          GROUP BY node_id`)
		.bind(JSON.stringify(nodeIds), from, to).all<{ node_id: string; s: number }>();
	return new Map(results.map((r) => [r.node_id, Math.floor(Math.max(0, r.s))]));
}

export async function incidentEnds(db: D1Database, ids: string[]): Promise<Map<string, number | null>> {
	if (ids.length === 0) return new Map();
	const { results } = await db.prepare("SELECT id, ended_at FROM incidents WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(ids)).all<{ id: string; ended_at: number | null }>();
	return new Map(results.map((r) => [r.id, r.ended_at]));
}

/** Flags active at any time during [from, to), per node. */
export async function activeFlags(db: D1Database, nodeIds: string[], from: number, to: number): Promise<Map<string, Penalty[]>> {
	const out = new Map<string, Penalty[]>();
	const { results } = await db
		.prepare(`SELECT node_id, code, reason, share FROM flags WHERE node_id IN (SELECT value FROM json_each(?1))
		          AND created_at < ?3 AND (cleared_at IS NULL OR cleared_at > ?2) ORDER BY created_at`)
		.bind(JSON.stringify(nodeIds), from, to).all<Penalty & { node_id: string }>();
	for (const { node_id, ...p } of results) out.set(node_id, [...(out.get(node_id) ?? []), p]);
	return out;
}

const INSERT_ROWS = `INSERT OR IGNORE INTO points_ledger (epoch, node_id, account_id, gpu_model, gpu_count, tier, tier_weight_bp, verified,
	online_seconds, incident_seconds, rented_gpu_seconds, challenges_issued, challenges_passed, challenges_failed, challenges_missed,
	availability_points, compute_points, penalty_points, points, penalties, reward, leaf)
	SELECT value->>'epoch', value->>'node_id', value->>'account_id', value->>'gpu_model', value->>'gpu_count', value->>'tier',
	       value->>'tier_weight_bp', value->>'verified', value->>'online_seconds', value->>'incident_seconds', value->>'rented_gpu_seconds',
	       value->>'challenges_issued', value->>'challenges_passed', value->>'challenges_failed', value->>'challenges_missed',
	       value->>'availability_points', value->>'compute_points', value->>'penalty_points', value->>'points', value->>'penalties',
	       value->>'reward', value->>'leaf'
	FROM json_each(?1)`;

/** Inserts rows; a row already there is left as it was (settled rows are never edited). */
export async function insertLedgerRows(db: D1Database, rows: LedgerRow[]): Promise<void> {
	if (rows.length) await db.prepare(INSERT_ROWS).bind(JSON.stringify(rows)).run();
}

export async function ledgerLeaves(db: D1Database, epoch: number): Promise<{ node_id: string; leaf: string; points: number }[]> {
	return (await db.prepare("SELECT node_id, leaf, points FROM points_ledger WHERE epoch = ? ORDER BY node_id").bind(epoch).all<{ node_id: string; leaf: string; points: number }>()).results;
}

export async function markSettled(db: D1Database, e: { n: number; root: string; nodes: number; total_points: number; emission: number }, now: number): Promise<void> {
	await db.prepare("UPDATE epochs SET settled_at = ?, root = ?, nodes = ?, total_points = ?, emission = ? WHERE n = ? AND settled_at IS NULL")
		.bind(now, e.root, e.nodes, e.total_points, e.emission, e.n).run();
}

export async function ledgerRow(db: D1Database, epoch: number, nodeId: string): Promise<LedgerRow | null> {
	return db.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?").bind(epoch, nodeId).first<LedgerRow>();
}

export async function latestSettled(db: D1Database): Promise<EpochRow | null> {
	return db.prepare("SELECT * FROM epochs WHERE settled_at IS NOT NULL ORDER BY n DESC LIMIT 1").first<EpochRow>();
}
