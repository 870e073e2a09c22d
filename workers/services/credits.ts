// Credits in D1: a ledger of signed entries (grant, hold, charge, refund, payout, fee); a balance is the sum of its entries.
import { iso } from "../http.ts";

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

interface EntryRow extends Required<Entry> { id: number; created_at: number }

export async function balance(db: D1Database, accountId: string): Promise<{ available_cents: number; held_cents: number }> {
	const r = await db.prepare("SELECT coalesce(sum(available_delta), 0) AS a, coalesce(sum(held_delta), 0) AS h FROM credit_entries WHERE account_id = ?")
		.bind(accountId).first<{ a: number; h: number }>();
	return { available_cents: r?.a ?? 0, held_cents: r?.h ?? 0 };
}

export function entryStatement(db: D1Database, e: Entry, now: number): D1PreparedStatement {
	return db.prepare(`INSERT OR IGNORE INTO credit_entries (key, account_id, kind, available_delta, held_delta, cluster_id, node_id, memo, created_at)
	                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		.bind(e.key, e.account_id, e.kind, e.available_delta, e.held_delta, e.cluster_id ?? null, e.node_id ?? null, e.memo ?? null, now);
}

/** Records entries atomically (one D1 batch); entries already recorded are skipped. */
export async function record(db: D1Database, entries: Entry[], now: number): Promise<void> {
	if (entries.length) await db.batch(entries.map((e) => entryStatement(db, e, now)));
}

/**
 * Moves `cents` from available to held, only if the account has them (checked and written in one statement,
 * so two deploys cannot spend the same credits). True when the hold exists, now or from an earlier try.
 */
export async function hold(db: D1Database, accountId: string, cents: number, clusterId: string, now: number): Promise<boolean> {
	const key = `hold:${clusterId}`;
	await db
		.prepare(`INSERT OR IGNORE INTO credit_entries (key, account_id, kind, available_delta, held_delta, cluster_id, created_at)
		          SELECT ?1, ?2, 'hold', -?3, ?3, ?4, ?5
		          WHERE (SELECT coalesce(sum(available_delta), 0) FROM credit_entries WHERE account_id = ?2) >= ?3`)
		.bind(key, accountId, cents, clusterId, now)
		.run();
	return (await db.prepare("SELECT 1 FROM credit_entries WHERE key = ?").bind(key).first()) !== null;
}

/** Gives back a deploy's hold, if one was made, exactly once (a deploy undone half-way). True when there was a hold. */
export async function releaseHold(db: D1Database, clusterId: string, now: number): Promise<boolean> {
	const key = `refund:${clusterId}:undone`;
	await db.prepare(`INSERT OR IGNORE INTO credit_entries (key, account_id, kind, available_delta, held_delta, cluster_id, memo, created_at)
	                  SELECT ?1, account_id, 'refund', held_delta, -held_delta, cluster_id, 'deploy undone', ?3 FROM credit_entries WHERE key = ?2`)
		.bind(key, `hold:${clusterId}`, now).run();
	return (await db.prepare("SELECT 1 FROM credit_entries WHERE key = ?").bind(key).first()) !== null;
}

export async function entries(db: D1Database, accountId: string, limit: number) {
	const { results } = await db.prepare("SELECT * FROM credit_entries WHERE account_id = ? ORDER BY id DESC LIMIT ?").bind(accountId, limit).all<EntryRow>();
	return results.map(entryView);
}

export function entryView(r: EntryRow) {
	return {
		id: r.id, kind: r.kind, available_delta_cents: r.available_delta, held_delta_cents: r.held_delta,
		cluster_id: r.cluster_id, node_id: r.node_id, memo: r.memo, created_at: iso(r.created_at),
	};
}

/** Grants credits once per key; null when the key was already used for a different grant. */
export async function grantOnce(db: D1Database, key: string, accountId: string, cents: number, memo: string | null, now: number) {
	await record(db, [{ key, account_id: accountId, kind: "grant", available_delta: cents, held_delta: 0, memo }], now);
	const r = await db.prepare("SELECT * FROM credit_entries WHERE key = ?").bind(key).first<EntryRow>();
	return r && r.account_id === accountId && r.available_delta === cents && r.memo === memo ? entryView(r) : null;
}
