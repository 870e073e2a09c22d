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
