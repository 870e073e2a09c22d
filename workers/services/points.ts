// Reading the points ledger: a node's breakdown, an account's summary, leaderboards and the figures in /v1/stats.
import * as ledger from "../db/ledger.ts";
import type { LedgerRow } from "../db/ledger.ts";
import { iso } from "../http.ts";
import { BP, COMPUTE_MULTIPLIER, POINTS_PER_GPU_HOUR, countedGpuSeconds } from "../domain/points.ts";
import { leafFields, type LeafRow } from "../domain/merkle.ts";
import { adjustmentStatus } from "../domain/adjustments.ts";

/** An adjustment as anyone reads it: its status (pending ones count nowhere yet) and who approved it, when. */
export function adjustmentView({ needs_approval, approved_by, approved_at, created_at, ...a }: ledger.AdjustmentRow) {
	const status = adjustmentStatus({ needs_approval, approved_at });
	return { ...a, created_at: iso(created_at), status, needs_approval, approved_by, approved_at: iso(approved_at) };
}

export async function adjustmentsOf(db: D1Database, nodeId: string, epoch: number) {
	return (await ledger.adjustmentsOf(db, nodeId, epoch)).map(adjustmentView);
}

/** Leaf encoding 1 rows (settled before 0012) halved an unverified claim's weight: that was their only factor. */
const V1_UNVERIFIED_FACTOR_BP = 5000;
const V1_FORMULA =
	"settled before leaf encoding 2: every claimed GPU credited, the weight halved while unverified, no probation, " +
	"allowance or bandwidth factor, each floor over the expression in IEEE-754 doubles, left to right";

const BEFORE_V3 =
	"settled before leaf encoding 3: every rented second counted, whoever rented it and whatever was paid " +
	"(self_rented and unpaid are 0)";

/**
 * The terms a row was computed with. A row of encoding 1 has none stored: its formula is the current one with every
 * claimed GPU credited, the weight halved while unverified, no probation, the whole address share and no bandwidth
 * factor (each ×1 is exact in doubles, so its figures recompute the same way).
 */
function termsOf(row: LedgerRow) {
	if (row.leaf_version >= 2) {
		return {
			credited_gpus: row.credited_gpus ?? 0,
			effective_weight_bp: row.effective_weight_bp ?? 0,
			probation: row.probation === 1,
			address_share_bp: row.address_share_bp ?? BP,
			bandwidth_tier: row.bandwidth_tier,
			bandwidth_factor_bp: row.bandwidth_factor_bp ?? BP,
		};
	}
	const halved = Math.floor((row.tier_weight_bp * V1_UNVERIFIED_FACTOR_BP) / BP);
	return {
		credited_gpus: row.gpu_count,
		effective_weight_bp: row.verified === 1 ? row.tier_weight_bp : halved,
		probation: false,
		address_share_bp: BP,
		bandwidth_tier: null,
		bandwidth_factor_bp: BP,
	};
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
	const t = termsOf(row);
	// Rows before encoding 3 counted every rented second: nothing was set aside.
	const rented = {
		rented_gpu_seconds: row.rented_gpu_seconds,
		self_rented_gpu_seconds: row.self_rented_gpu_seconds ?? 0,
		unpaid_gpu_seconds: row.unpaid_gpu_seconds ?? 0,
	};
	return {
		epoch: row.epoch,
		node_id: row.node_id,
		node_deleted_at: iso(deletedAt),
		leaf_version: row.leaf_version,
		inputs: {
			gpu_model: row.gpu_model,
			gpu_count: row.gpu_count,
			tier: row.tier,
			tier_weight: row.tier_weight_bp / BP,
			verified: row.verified === 1,
			probation: t.probation,
			address_share_bp: t.address_share_bp,
			bandwidth_tier: t.bandwidth_tier,
			bandwidth_factor_bp: t.bandwidth_factor_bp,
			online_seconds: row.online_seconds,
			incident_seconds: row.incident_seconds,
			...rented,
			challenges: {
				issued: row.challenges_issued,
				passed: row.challenges_passed,
				failed: row.challenges_failed,
				missed: row.challenges_missed,
			},
		},
		terms: {
			credited_gpus: t.credited_gpus,
			effective_weight: t.effective_weight_bp / BP,
			pass_ratio: resolved > 0 ? row.challenges_passed / resolved : 1,
			address_share: t.address_share_bp / BP,
			bandwidth_factor: t.bandwidth_factor_bp / BP,
			counted_gpu_seconds: countedGpuSeconds(rented),
			availability_points: row.availability_points,
			compute_points: row.compute_points,
			penalty_points: row.penalty_points,
			penalties: JSON.parse(row.penalties) as unknown[],
		},
		points: row.points,
		reward: row.reward,
		adjustments,
		points_after_adjustments: row.points + adjustments.reduce((s, a) => s + (a.status === "applied" ? a.points : 0), 0),
		formula: {
			weight: "effective_weight = tier_weight once verified, else the lowest tier's weight (one GPU credited)",
			availability:
				`floor((online_seconds + incident_seconds) / 3600 × credited_gpus × effective_weight × pass_ratio × ` +
				`address_share × bandwidth_factor × ${POINTS_PER_GPU_HOUR}), exactly (no rounding before the floor); ` +
				"0 on probation",
			counted:
				"counted_gpu_seconds = rented_gpu_seconds − self_rented_gpu_seconds − unpaid_gpu_seconds: only time an " +
				"independent renter paid for earns compute points",
			compute:
				`floor(counted_gpu_seconds / 3600 × effective_weight × ${POINTS_PER_GPU_HOUR} × ${COMPUTE_MULTIPLIER}), ` +
				"exactly",
			penalty: "floor((availability + compute) × min(1, Σ flag shares)); all of it when the shares reach 1",
			points: "availability + compute − penalty",
			...(row.leaf_version < 2 ? { encoding_1: V1_FORMULA } : {}),
			...(row.leaf_version < 3 ? { before_encoding_3: BEFORE_V3 } : {}),
			docs: "docs/POINTS.md",
		},
		leaf: leafOf(row),
		leaf_hash: row.leaf,
	};
}

/** The row's hashed fields, by its leaf encoding (what GET /v1/epochs/{n}/proof/{node} returns as `leaf`). */
export function leafOf(row: LedgerRow): LeafRow {
	return Object.fromEntries(leafFields(row.leaf_version).map((f) => [f, row[f as keyof LedgerRow]])) as LeafRow;
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
