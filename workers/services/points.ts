// Reading the points ledger: a node's breakdown, an account's summary, leaderboards and the figures in /v1/stats.
import * as ledger from "../db/ledger.ts";
import type { LedgerRow } from "../db/ledger.ts";
import { iso } from "../http.ts";
import { COMPUTE_MULTIPLIER, POINTS_PER_GPU_HOUR, UNVERIFIED_FACTOR_BP } from "../domain/points.ts";
import { LEAF_FIELDS, type LeafRow } from "../domain/merkle.ts";

export async function adjustmentsOf(db: D1Database, nodeId: string, epoch: number) {
	return (await ledger.adjustmentsOf(db, nodeId, epoch)).map((a) => ({ ...a, created_at: iso(a.created_at) }));
}

/**
 * A node's row with every term, the constants of the formula, and staff adjustments made since; `node_deleted_at` is
 * set when the node has since been deleted (its settled rows stay readable and provable).
 */
export async function breakdown(db: D1Database, row: LedgerRow) {
	const [adjustments, deletedAt] = await Promise.all([
		adjustmentsOf(db, row.node_id, row.epoch),
		ledger.nodeDeletedAt(db, row.node_id),
	]);
	const resolved = row.challenges_passed + row.challenges_failed + row.challenges_missed;
	return {
		epoch: row.epoch,
		node_id: row.node_id,
		node_deleted_at: iso(deletedAt),
		inputs: {
			gpu_model: row.gpu_model,
			gpu_count: row.gpu_count,
			tier: row.tier,
			tier_weight: row.tier_weight_bp / 10000,
			verified: row.verified === 1,
			online_seconds: row.online_seconds,
			incident_seconds: row.incident_seconds,
			rented_gpu_seconds: row.rented_gpu_seconds,
			challenges: {
				issued: row.challenges_issued,
				passed: row.challenges_passed,
				failed: row.challenges_failed,
				missed: row.challenges_missed,
			},
		},
		terms: {
			unverified_factor: row.verified === 1 ? 1 : UNVERIFIED_FACTOR_BP / 10000,
			pass_ratio: resolved > 0 ? row.challenges_passed / resolved : 1,
			availability_points: row.availability_points,
			compute_points: row.compute_points,
			penalty_points: row.penalty_points,
			penalties: JSON.parse(row.penalties) as unknown[],
		},
		points: row.points,
		reward: row.reward,
		adjustments,
		points_after_adjustments: row.points + adjustments.reduce((s, a) => s + a.points, 0),
		formula: {
			availability:
				`floor((online_seconds + incident_seconds) / 3600 × gpu_count × ` +
				`tier_weight × unverified_factor × pass_ratio × ${POINTS_PER_GPU_HOUR})`,
			compute:
				`floor(rented_gpu_seconds / 3600 × tier_weight × ` +
				`unverified_factor × ${POINTS_PER_GPU_HOUR} × ${COMPUTE_MULTIPLIER})`,
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

/** Top accounts by points (ledger plus adjustments) over the given settled epochs. */
export async function leaderboard(db: D1Database, fromEpoch: number, toEpoch: number, limit = 100) {
	return (await ledger.leaderboard(db, fromEpoch, toEpoch, limit)).map((r, i) => ({ rank: i + 1, ...r }));
}

/** Figures from epochs that ended within the last 24 h (see the definitions in /v1/stats). */
export async function ledgerStats(db: D1Database, now: number) {
	const row = await ledger.settledSince(db, now - 24 * 3600 * 1000);
	return {
		gpu_hours_24h: Math.round((row?.gpu_hours ?? 0) * 1000) / 1000,
		rented_gpu_hours_24h: Math.round((row?.rented_gpu_hours ?? 0) * 1000) / 1000,
		points_24h: row?.points ?? 0,
		rewards_24h: (row?.reward ?? 0) / 1e6,
		settled_epochs_24h: row?.epochs ?? 0,
	};
}
