// Owns the `points_ledger` and `points_adjustments` tables: each node's row per settled epoch, and staff corrections.
import type { AuditEntry } from "./audit.ts";
import { audited, auditedIf } from "./audit.ts";
import { LEAF_FIELDS } from "../domain/merkle.ts";
import type { SettledFacts } from "../domain/invariants.ts";

/**
 * A settled row: the facts the invariants check (domain/invariants.ts), and the rest of the formula's terms. Rows of
 * leaf encoding 1 (settled before migration 0012) hold null in the terms encoding 2 added, and rows of encodings 1
 * and 2 (before 0014) null in those encoding 3 added.
 */
export interface LedgerRow extends SettledFacts {
	epoch: number;
	account_id: string;
	gpu_model: string;
	tier: string;
	tier_weight_bp: number;
	verified: number;
	leaf_version: number;
	credited_gpus: number | null;
	effective_weight_bp: number | null;
	probation: number | null;
	address_share_bp: number | null;
	bandwidth_tier: string | null;
	bandwidth_factor_bp: number | null;
	/** Leaf encoding 3 (since 0014): rented time that earned nothing; null in older rows. */
	self_rented_gpu_seconds: number | null;
	unpaid_gpu_seconds: number | null;
	availability_points: number;
	compute_points: number;
	penalty_points: number;
	points: number;
	penalties: string;
	reward: number;
	leaf: string;
}

export interface AdjustmentRow {
	id: string;
	epoch: number;
	node_id: string;
	points: number;
	reason: string;
	author: string;
	created_at: number;
	/** Why it waits for a second staff member (workers/domain/adjustments.ts); null when it needed none. */
	needs_approval: string | null;
	approved_by: string | null;
	approved_at: number | null;
}

/** An adjustment that counts: it needed no approval, or has it (`adjustmentStatus`, in SQL). */
const APPLIED = (alias: string) => `(${alias}.needs_approval IS NULL OR ${alias}.approved_at IS NOT NULL)`;

/** The columns written: the leaf fields of the current encoding (hashed, docs/POINTS.md), then the leaf hash itself. */
const LEDGER_COLUMNS = [...LEAF_FIELDS, "leaf"] as const satisfies readonly (keyof LedgerRow)[];

const INSERT_ROWS = `INSERT OR IGNORE INTO points_ledger (${LEDGER_COLUMNS.join(", ")})
	SELECT ${LEDGER_COLUMNS.map((c) => `value->>'${c}'`).join(", ")} FROM json_each(?1)`;

/** Inserts rows; a row already there is left as it was (settled rows are never edited). */
export async function insertLedgerRows(db: D1Database, rows: LedgerRow[]): Promise<void> {
	if (rows.length) await db.prepare(INSERT_ROWS).bind(JSON.stringify(rows)).run();
}

export async function ledgerLeaves(db: D1Database, epoch: number) {
	const { results } = await db
		.prepare("SELECT node_id, leaf, points, reward FROM points_ledger WHERE epoch = ? ORDER BY node_id")
		.bind(epoch)
		.all<{ node_id: string; leaf: string; points: number; reward: number }>();
	return results;
}

export async function ledgerRow(db: D1Database, epoch: number, nodeId: string): Promise<LedgerRow | null> {
	return db
		.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
		.bind(epoch, nodeId)
		.first<LedgerRow>();
}

/** Whether the node has a row in any settled epoch (a deleted node's rows stay: the ledger is public). */
export async function hasRows(db: D1Database, nodeId: string): Promise<boolean> {
	return (
		(await db.prepare("SELECT 1 AS one FROM points_ledger WHERE node_id = ? LIMIT 1").bind(nodeId).first()) !== null
	);
}

/** When the ledger row's node was deleted; null while it is live (or for a row whose node is not in `nodes`). */
export async function nodeDeletedAt(db: D1Database, nodeId: string): Promise<number | null> {
	const r = await db
		.prepare("SELECT deleted_at FROM nodes WHERE id = ?")
		.bind(nodeId)
		.first<{ deleted_at: number | null }>();
	return r?.deleted_at ?? null;
}

/** Staff adjustments of one node's row (pending ones too), oldest first. */
export async function adjustmentsOf(db: D1Database, nodeId: string, epoch: number): Promise<AdjustmentRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM points_adjustments WHERE node_id = ? AND epoch = ? ORDER BY created_at")
		.bind(nodeId, epoch)
		.all<AdjustmentRow>();
	return results;
}

/** A node's newest adjustments over every epoch (pending ones too), for its public page. */
export async function recentAdjustments(db: D1Database, nodeId: string, limit: number): Promise<AdjustmentRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM points_adjustments WHERE node_id = ? ORDER BY created_at DESC, id LIMIT ?")
		.bind(nodeId, limit)
		.all<AdjustmentRow>();
	return results;
}

export async function adjustment(db: D1Database, id: string): Promise<AdjustmentRow | null> {
	return db.prepare("SELECT * FROM points_adjustments WHERE id = ?").bind(id).first<AdjustmentRow>();
}

/** Adds a staff adjustment and its audit entry in one batch. */
export async function addAdjustment(db: D1Database, a: AdjustmentRow, entry: AuditEntry): Promise<void> {
	await audited(
		db,
		db
			.prepare(`INSERT INTO points_adjustments (id, epoch, node_id, points, reason, author, created_at, needs_approval)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
			.bind(a.id, a.epoch, a.node_id, a.points, a.reason, a.author, a.created_at, a.needs_approval),
		entry,
		a.created_at,
	);
}

/**
 * Approves a pending adjustment as `approver` at `now`, with its audit entry, once: the entry is written only when
 * the adjustment was still pending (a second approval changes nothing). Returns whether this call approved it.
 */
export async function approveAdjustment(
	db: D1Database,
	id: string,
	approver: string,
	now: number,
	entry: AuditEntry,
): Promise<boolean> {
	const pending =
		"SELECT 1 FROM points_adjustments WHERE id = ? AND needs_approval IS NOT NULL AND approved_at IS NULL";
	const changed = await auditedIf(
		db,
		{ sql: pending, params: [id] },
		db
			.prepare(`UPDATE points_adjustments SET approved_by = ?, approved_at = ?
				WHERE id = ? AND needs_approval IS NOT NULL AND approved_at IS NULL RETURNING id`)
			.bind(approver, now, id),
		entry,
		now,
	);
	return changed.length > 0;
}

/** Sum of the adjustments to account ?1's nodes (in the epoch `epoch` names; all when empty), for the sums below. */
const ADJUSTMENTS = (epoch: string) =>
	`coalesce((SELECT sum(a.points) FROM points_adjustments a JOIN nodes n ON n.id = a.node_id
		WHERE n.account_id = ?1 AND ${APPLIED("a")}${epoch ? ` AND a.epoch = ${epoch}` : ""}), 0)`;

/** An account's rows in one epoch, most points first, and its totals in the epoch (adjustments included). */
export async function accountEpochRows(db: D1Database, accountId: string, epoch: number, limit: number) {
	const [rows, totals] = await db.batch([
		db
			.prepare(`SELECT * FROM points_ledger WHERE account_id = ?1 AND epoch = ?2
				ORDER BY points DESC, node_id LIMIT ?3`)
			.bind(accountId, epoch, limit),
		db
			.prepare(`SELECT count(*) AS nodes, coalesce(sum(points), 0) AS points, coalesce(sum(reward), 0) AS reward,
				${ADJUSTMENTS("?2")} AS adjustments
			FROM points_ledger WHERE account_id = ?1 AND epoch = ?2`)
			.bind(accountId, epoch),
	]);
	const none = { nodes: 0, points: 0, reward: 0, adjustments: 0 };
	return {
		rows: (rows?.results ?? []) as LedgerRow[],
		totals: (totals?.results[0] ?? none) as typeof none,
	};
}

/** Points and rewards of an account's nodes per settled epoch (newest first), with adjustments, and lifetime totals. */
export async function accountPoints(db: D1Database, accountId: string, limit: number) {
	const [perEpoch, totals] = await db.batch([
		db
			.prepare(`SELECT l.epoch, count(*) AS nodes, sum(l.points) AS points, sum(l.reward) AS reward,
				${ADJUSTMENTS("l.epoch")} AS adjustments
			FROM points_ledger l WHERE l.account_id = ?1
			GROUP BY l.epoch ORDER BY l.epoch DESC LIMIT ?2`)
			.bind(accountId, limit),
		db
			.prepare(`SELECT coalesce(sum(points), 0) AS points, coalesce(sum(reward), 0) AS reward,
				${ADJUSTMENTS("")} AS adjustments
			FROM points_ledger WHERE account_id = ?1`)
			.bind(accountId),
	]);
	return { epochs: perEpoch?.results ?? [], lifetime: totals?.results[0] ?? null };
}

/** Top accounts by points (ledger plus adjustments) over the given settled epochs. */
export async function leaderboard(db: D1Database, fromEpoch: number, toEpoch: number, limit: number) {
	const { results } = await db
		.prepare(`WITH totals AS (
		            SELECT account_id, sum(points) AS points, sum(reward) AS reward, count(DISTINCT node_id) AS nodes
		            FROM points_ledger WHERE epoch BETWEEN ?1 AND ?2 GROUP BY account_id),
		          adj AS (
		            SELECT n.account_id, sum(a.points) AS points FROM points_adjustments a JOIN nodes n ON n.id = a.node_id
		            WHERE a.epoch BETWEEN ?1 AND ?2 AND ${APPLIED("a")} GROUP BY n.account_id)
		          SELECT t.account_id, acc.name, t.nodes, t.points + coalesce(adj.points, 0) AS points, t.reward
		          FROM totals t JOIN accounts acc ON acc.id = t.account_id LEFT JOIN adj ON adj.account_id = t.account_id
		          ORDER BY points DESC, t.account_id LIMIT ?3`)
		.bind(fromEpoch, toEpoch, limit)
		.all<{ account_id: string; name: string; nodes: number; points: number; reward: number }>();
	return results;
}

/** Ledger sums over the settled epochs that ended after `since`. */
export async function settledSince(db: D1Database, since: number) {
	return db
		.prepare(`SELECT count(DISTINCT e.n) AS epochs,
		                 coalesce(sum(l.online_seconds * l.gpu_count), 0) / 3600.0 AS gpu_hours,
		                 coalesce(sum(l.rented_gpu_seconds), 0) / 3600.0 AS rented_gpu_hours,
		                 coalesce(sum(l.points), 0) AS points, coalesce(sum(l.reward), 0) AS reward
		          FROM epochs e LEFT JOIN points_ledger l ON l.epoch = e.n
		          WHERE e.settled_at IS NOT NULL AND e.ended_at > ?`)
		.bind(since)
		.first<{ epochs: number; gpu_hours: number; rented_gpu_hours: number; points: number; reward: number }>();
}

/** One account's points (adjustments included) and rewards over the settled epochs that ended after `since`. */
export async function accountSettledSince(
	db: D1Database,
	accountId: string,
	since: number,
): Promise<{ epochs: number; points: number; reward: number }> {
	const row = await db
		.prepare(`WITH recent AS (SELECT n FROM epochs WHERE settled_at IS NOT NULL AND ended_at > ?2)
		          SELECT (SELECT count(*) FROM recent) AS epochs,
		                 coalesce((SELECT sum(points) FROM points_ledger
		                           WHERE account_id = ?1 AND epoch IN (SELECT n FROM recent)), 0)
		               + coalesce((SELECT sum(a.points) FROM points_adjustments a JOIN nodes n ON n.id = a.node_id
		                           WHERE n.account_id = ?1 AND a.epoch IN (SELECT n FROM recent)), 0) AS points,
		                 coalesce((SELECT sum(reward) FROM points_ledger
		                           WHERE account_id = ?1 AND epoch IN (SELECT n FROM recent)), 0) AS reward`)
		.bind(accountId, since)
		.first<{ epochs: number; points: number; reward: number }>();
	return row ?? { epochs: 0, points: 0, reward: 0 };
}
