// Reading the points ledger: a node's breakdown, an account's summary, leaderboards and the figures in /v1/stats.
import { iso } from "../http.ts";
import { COMPUTE_MULTIPLIER, POINTS_PER_GPU_HOUR, UNVERIFIED_FACTOR_BP } from "../domain/points.ts";
import { LEAF_FIELDS, type LeafRow } from "../domain/merkle.ts";
import type { LedgerRow } from "./epochs.ts";

interface AdjustmentRow { id: string; epoch: number; node_id: string; points: number; reason: string; author: string; created_at: number }

export async function adjustmentsOf(db: D1Database, nodeId: string, epoch: number) {
	const { results } = await db.prepare("SELECT * FROM points_adjustments WHERE node_id = ? AND epoch = ? ORDER BY created_at").bind(nodeId, epoch).all<AdjustmentRow>();
	return results.map((a) => ({ ...a, created_at: iso(a.created_at) }));
}

/** A node's row with every term, the constants of the formula, and staff adjustments made since. */
export async function breakdown(db: D1Database, row: LedgerRow) {
	const adjustments = await adjustmentsOf(db, row.node_id, row.epoch);
	const resolved = row.challenges_passed + row.challenges_failed + row.challenges_missed;
	return {
		epoch: row.epoch,
		node_id: row.node_id,
		inputs: {
			gpu_model: row.gpu_model, gpu_count: row.gpu_count, tier: row.tier, tier_weight: row.tier_weight_bp / 10000,
			verified: row.verified === 1, online_seconds: row.online_seconds, incident_seconds: row.incident_seconds,
			rented_gpu_seconds: row.rented_gpu_seconds,
			challenges: { issued: row.challenges_issued, passed: row.challenges_passed, failed: row.challenges_failed, missed: row.challenges_missed },
		},
		terms: {
			unverified_factor: row.verified === 1 ? 1 : UNVERIFIED_FACTOR_BP / 10000,
			pass_ratio: resolved > 0 ? row.challenges_passed / resolved : 1,
			availability_points: row.availability_points, compute_points: row.compute_points, penalty_points: row.penalty_points,
			penalties: JSON.parse(row.penalties) as unknown[],
		},
		points: row.points,
		reward: row.reward,
		adjustments,
		points_after_adjustments: row.points + adjustments.reduce((s, a) => s + a.points, 0),
		formula: {
			availability: `floor((online_seconds + incident_seconds) / 3600 × gpu_count × tier_weight × unverified_factor × pass_ratio × ${POINTS_PER_GPU_HOUR})`,
			compute: `floor(rented_gpu_seconds / 3600 × tier_weight × unverified_factor × ${POINTS_PER_GPU_HOUR} × ${COMPUTE_MULTIPLIER})`,
			penalty: "floor((availability + compute) × min(1, Σ flag shares)); all of it when the shares reach 1",
			points: "availability + compute − penalty",
			docs: "docs/POINTS.md",
		},
		leaf: leafOf(row),
		leaf_hash: row.leaf,
	};
}

export function leafOf(row: LedgerRow): LeafRow {
	return Object.fromEntries(LEAF_FIELDS.map((f) => [f, row[f]])) as LeafRow;
}

/** Points and rewards of an account's nodes per settled epoch (newest first), with adjustments, and lifetime totals. */
export async function accountPoints(db: D1Database, accountId: string, limit: number) {
	const [perEpoch, totals] = await db.batch([
		db.prepare(`SELECT l.epoch, count(*) AS nodes, sum(l.points) AS points, sum(l.reward) AS reward,
		                   coalesce((SELECT sum(a.points) FROM points_adjustments a JOIN nodes n ON n.id = a.node_id WHERE n.account_id = ?1 AND a.epoch = l.epoch), 0) AS adjustments
		            FROM points_ledger l WHERE l.account_id = ?1 GROUP BY l.epoch ORDER BY l.epoch DESC LIMIT ?2`).bind(accountId, limit),
		db.prepare(`SELECT coalesce(sum(points), 0) AS points, coalesce(sum(reward), 0) AS reward,
		                   coalesce((SELECT sum(a.points) FROM points_adjustments a JOIN nodes n ON n.id = a.node_id WHERE n.account_id = ?1), 0) AS adjustments
		            FROM points_ledger WHERE account_id = ?1`).bind(accountId),
	]);
	return { epochs: perEpoch?.results ?? [], lifetime: totals?.results[0] ?? null };
}

/** Top accounts by points (ledger plus adjustments) over the given settled epochs. */
export async function leaderboard(db: D1Database, fromEpoch: number, toEpoch: number, limit = 100) {
	const { results } = await db
		.prepare(`WITH totals AS (
		            SELECT account_id, sum(points) AS points, sum(reward) AS reward, count(DISTINCT node_id) AS nodes
		            FROM points_ledger WHERE epoch BETWEEN ?1 AND ?2 GROUP BY account_id),
		          adj AS (
		            SELECT n.account_id, sum(a.points) AS points FROM points_adjustments a JOIN nodes n ON n.id = a.node_id
		            WHERE a.epoch BETWEEN ?1 AND ?2 GROUP BY n.account_id)
		          SELECT t.account_id, acc.name, t.nodes, t.points + coalesce(adj.points, 0) AS points, t.reward
		          FROM totals t JOIN accounts acc ON acc.id = t.account_id LEFT JOIN adj ON adj.account_id = t.account_id
		          ORDER BY points DESC, t.account_id LIMIT ?3`)
		.bind(fromEpoch, toEpoch, limit)
		.all<{ account_id: string; name: string; nodes: number; points: number; reward: number }>();
	return results.map((r, i) => ({ rank: i + 1, ...r }));
}

/** Figures from epochs that ended within the last 24 h (see the definitions in /v1/stats). */
export async function ledgerStats(db: D1Database, now: number) {
	const row = await db
		.prepare(`SELECT count(DISTINCT e.n) AS epochs,
		                 coalesce(sum(l.online_seconds * l.gpu_count), 0) / 3600.0 AS gpu_hours,
		                 coalesce(sum(l.rented_gpu_seconds), 0) / 3600.0 AS rented_gpu_hours,
		                 coalesce(sum(l.points), 0) AS points, coalesce(sum(l.reward), 0) AS reward
		          FROM epochs e LEFT JOIN points_ledger l ON l.epoch = e.n
		          WHERE e.settled_at IS NOT NULL AND e.ended_at > ?`)
		.bind(now - 24 * 3600 * 1000)
		.first<{ epochs: number; gpu_hours: number; rented_gpu_hours: number; points: number; reward: number }>();
	return {
		gpu_hours_24h: Math.round((row?.gpu_hours ?? 0) * 1000) / 1000,
		rented_gpu_hours_24h: Math.round((row?.rented_gpu_hours ?? 0) * 1000) / 1000,
		points_24h: row?.points ?? 0,
		rewards_24h: (row?.reward ?? 0) / 1e6,
		settled_epochs_24h: row?.epochs ?? 0,
	};
}
