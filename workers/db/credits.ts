// Owns the `credit_entries` table: the credit ledger of signed entries (grant, hold, charge, refund, payout, fee).
import { auditedIf, type AuditEntry } from "./audit.ts";

export const NETWORK_ACCOUNT = "acc_network";

export type EntryKind = "grant" | "hold" | "charge" | "refund" | "payout" | "fee";

export interface Entry {
	/** Unique per movement: a retried movement with the same key is ignored, so nothing is ever counted twice. */
	key: string;
	account_id: string;
	kind: EntryKind;
	available_delta: number;
	held_delta: number;
	cluster_id?: string | null;
	node_id?: string | null;
	memo?: string | null;
}

export interface EntryRow extends Required<Entry> {
	id: number;
	created_at: number;
}

/** A balance is the sum of the account's entries. */
export async function balance(db: D1Database, accountId: string) {
	const r = await db
		.prepare(`SELECT coalesce(sum(available_delta), 0) AS a, coalesce(sum(held_delta), 0) AS h
			FROM credit_entries WHERE account_id = ?`)
		.bind(accountId)
		.first<{ a: number; h: number }>();
	return { available_cents: r?.a ?? 0, held_cents: r?.h ?? 0 };
}

function entryStatement(db: D1Database, e: Entry, now: number, returning = ""): D1PreparedStatement {
	return db
		.prepare(`INSERT OR IGNORE INTO credit_entries
			(key, account_id, kind, available_delta, held_delta, cluster_id, node_id, memo, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)${returning}`)
		.bind(
			e.key,
			e.account_id,
			e.kind,
			e.available_delta,
			e.held_delta,
			e.cluster_id ?? null,
			e.node_id ?? null,
			e.memo ?? null,
			now,
		);
}

/** Records entries atomically (one D1 batch); entries already recorded are skipped. */
export async function record(db: D1Database, entries: Entry[], now: number): Promise<void> {
	if (entries.length) await db.batch(entries.map((e) => entryStatement(db, e, now)));
}

/**
 * Records one entry and its audit entry in one transaction, both only if the entry's key is new; true when this call
 * recorded them. The insert itself says so (the row it returns), so of two racing calls with one key exactly one is
 * told it created the entry, and a replay leaves no second audit entry.
 */
export async function recordOnceAudited(db: D1Database, e: Entry, trace: AuditEntry, now: number): Promise<boolean> {
	const inserted = await auditedIf(
		db,
		{ sql: "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM credit_entries WHERE key = ?)", params: [e.key] },
		entryStatement(db, e, now, " RETURNING id"),
		trace,
		now,
	);
	return inserted.length > 0;
}

async function exists(db: D1Database, key: string): Promise<boolean> {
	return (await db.prepare("SELECT 1 FROM credit_entries WHERE key = ?").bind(key).first()) !== null;
}

/**
 * Moves `cents` from available to held, only if the account has them (checked and written in one statement,
 * so two deploys cannot spend the same credits). True when the hold exists, now or from an earlier try.
 */
export async function hold(db: D1Database, accountId: string, cents: number, clusterId: string, now: number) {
	const key = `hold:${clusterId}`;
	await db
		.prepare(`INSERT OR IGNORE INTO credit_entries
			(key, account_id, kind, available_delta, held_delta, cluster_id, created_at)
			SELECT ?1, ?2, 'hold', -?3, ?3, ?4, ?5
			WHERE (SELECT coalesce(sum(available_delta), 0) FROM credit_entries WHERE account_id = ?2) >= ?3`)
		.bind(key, accountId, cents, clusterId, now)
		.run();
	return exists(db, key);
}

/** Gives back a deploy's hold, if one was made, exactly once (a deploy undone half-way). True when there was a hold. */
export async function releaseHold(db: D1Database, clusterId: string, now: number): Promise<boolean> {
	const key = `refund:${clusterId}:undone`;
	await db
		.prepare(`INSERT OR IGNORE INTO credit_entries
			(key, account_id, kind, available_delta, held_delta, cluster_id, memo, created_at)
			SELECT ?1, account_id, 'refund', held_delta, -held_delta, cluster_id, 'deploy undone', ?3
			FROM credit_entries WHERE key = ?2`)
		.bind(key, `hold:${clusterId}`, now)
		.run();
	return exists(db, key);
}

/** The account's newest entries first. */
export async function entries(db: D1Database, accountId: string, limit: number): Promise<EntryRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM credit_entries WHERE account_id = ? ORDER BY id DESC LIMIT ?")
		.bind(accountId, limit)
		.all<EntryRow>();
	return results;
}

export async function byKey(db: D1Database, key: string): Promise<EntryRow | null> {
	return db.prepare("SELECT * FROM credit_entries WHERE key = ?").bind(key).first<EntryRow>();
}

// --- The network fee, as the accounts it concerns see it ---
// Reads the network fee out of the `credit_entries` table (written by db/credits.ts) for the accounts it concerns. A
// fee entry sits on the network's account; each billing step of a cluster has keys `charge:<cluster>:<n>` (the
// renter), `payout:<cluster>:<n>:<node>` (each operator) and `fee:<cluster>:<n>` (the network), so the step's
// charge = payouts + fee. The renter and the operators see the steps they were charged or paid in.

export interface FeeStepRow {
	/** `<cluster>:<n>`, the step's tag in its entries' keys. */
	tag: string;
	cluster_id: string;
	/** The charge entry's id: the steps' order. */
	id: number;
	charge: number;
	payouts: number;
	fee: number;
	/** What the account paid in this step (the charge, if it is the renter) and was paid (its nodes' payouts). */
	paid_by: number;
	paid_to: number;
	created_at: number;
}

export interface FeeTotals {
	/** Over every step the account was charged in: charges = payouts + fees. */
	renter_charges: number;
	renter_payouts: number;
	renter_fees: number;
	/** Over every step that paid the account: its payouts, and the fees those steps' charges paid the network. */
	operator_payouts: number;
	operator_fees: number;
}

/** Every billing step the account ?1 was charged or paid in, with the step's charge, payouts to all and fee. */
const STEPS = `WITH mine AS (
		SELECT substr(key, 8) AS tag, cluster_id, -held_delta AS paid_by, 0 AS paid_to
		FROM credit_entries WHERE account_id = ?1 AND kind = 'charge'
		UNION ALL
		SELECT substr(key, 8, length(key) - 8 - length(node_id)), cluster_id, 0, available_delta
		FROM credit_entries WHERE account_id = ?1 AND kind = 'payout'
	), steps AS (
		SELECT m.tag, m.cluster_id, c.id, -c.held_delta AS charge, c.created_at,
			coalesce(f.available_delta, 0) AS fee, sum(m.paid_by) AS paid_by, sum(m.paid_to) AS paid_to,
			(SELECT coalesce(sum(p.available_delta), 0) FROM credit_entries p
				WHERE p.cluster_id = m.cluster_id AND p.kind = 'payout'
				AND substr(p.key, 1, length(m.tag) + 8) = 'payout:' || m.tag || ':') AS payouts
		FROM mine m
		JOIN credit_entries c ON c.key = 'charge:' || m.tag
		LEFT JOIN credit_entries f ON f.key = 'fee:' || m.tag
		GROUP BY m.tag, m.cluster_id
	)`;

/** The account's newest `limit` billing steps with their fee, and its totals over all of them. */
export async function feeSteps(
	db: D1Database,
	accountId: string,
	limit: number,
): Promise<{ steps: FeeStepRow[]; totals: FeeTotals }> {
	const [steps, totals] = await db.batch([
		db.prepare(`${STEPS} SELECT * FROM steps ORDER BY id DESC LIMIT ?2`).bind(accountId, limit),
		db
			.prepare(`${STEPS} SELECT
				coalesce(sum(CASE WHEN paid_by > 0 THEN charge END), 0) AS renter_charges,
				coalesce(sum(CASE WHEN paid_by > 0 THEN payouts END), 0) AS renter_payouts,
				coalesce(sum(CASE WHEN paid_by > 0 THEN fee END), 0) AS renter_fees,
				coalesce(sum(paid_to), 0) AS operator_payouts,
				coalesce(sum(CASE WHEN paid_to > 0 THEN fee END), 0) AS operator_fees
			FROM steps`)
			.bind(accountId),
	]);
	const none: FeeTotals = {
		renter_charges: 0,
		renter_payouts: 0,
		renter_fees: 0,
		operator_payouts: 0,
		operator_fees: 0,
	};
	return {
		steps: (steps?.results ?? []) as FeeStepRow[],
		totals: (totals?.results[0] ?? none) as FeeTotals,
	};
}
