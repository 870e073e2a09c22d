// What verification writes to D1, read from the local D1 file (read-only): the tables' rows before and after a phase,
// turned into rows written as D1 bills them (each row, plus each index entry whose columns changed), and the address
// allowances the rounds proved.
import type { DatabaseSync } from "node:sqlite";
import { findD1File, loadSqlite } from "./flips.ts";

/** Every table verification writes (those missing in this coordinator's schema are skipped). */
export const VERIFICATION_TABLES = [
	"node_verifications",
	"verify_rounds",
	"verify_round_members",
	"flags",
	"address_allowances",
	"node_identity",
	"gpu_uuids",
] as const;

interface Table {
	key: string[];
	indexes: string[][];
	rows: Map<string, Record<string, unknown>>;
}
export type Snapshot = Map<string, Table>;

async function open(persistDir: string): Promise<DatabaseSync | null> {
	const file = await findD1File(persistDir);
	if (!file) return null;
	const { DatabaseSync } = await loadSqlite();
	return new DatabaseSync(file, { readOnly: true });
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function snapshot(persistDir: string): Promise<Snapshot> {
	const out: Snapshot = new Map();
	const db = await open(persistDir);
	if (!db) return out;
	try {
		for (const name of VERIFICATION_TABLES) {
			const cols = db.prepare(`PRAGMA table_info(${quote(name)})`).all() as { name: string; pk: number }[];
			if (cols.length === 0) continue;
			const pk = cols
				.filter((c) => c.pk > 0)
				.sort((a, b) => a.pk - b.pk)
				.map((c) => c.name);
			const key = pk.length ? pk : ["rowid"];
			const indexes = (db.prepare(`PRAGMA index_list(${quote(name)})`).all() as { name: string }[]).map((ix) =>
				(db.prepare(`PRAGMA index_info(${quote(ix.name)})`).all() as { name: string }[]).map((c) => c.name),
			);
			const rows = new Map<string, Record<string, unknown>>();
			for (const row of db.prepare(`SELECT rowid AS rowid, * FROM ${quote(name)}`).all() as Record<string, unknown>[])
				rows.set(JSON.stringify(key.map((k) => row[k])), row);
			out.set(name, { key, indexes, rows });
		}
	} finally {
		db.close();
	}
	return out;
}

export interface Written {
	inserted: number;
	updated: number;
	deleted: number;
	/** Rows written as D1 counts them: each row, plus one per index entry it changed. */
	billed: number;
}

/**
 * Rows written between two snapshots, per table. A lower bound: a row written twice in the window, or rewritten with
 * the same values, shows once or not at all.
 */
export function rowsWritten(before: Snapshot, after: Snapshot): Record<string, Written> {
	const out: Record<string, Written> = {};
	for (const [name, t] of after) {
		const prev = before.get(name)?.rows ?? new Map<string, Record<string, unknown>>();
		const w: Written = { inserted: 0, updated: 0, deleted: 0, billed: 0 };
		for (const [k, row] of t.rows) {
			const old = prev.get(k);
			if (!old) {
				w.inserted++;
				w.billed += 1 + t.indexes.length;
				continue;
			}
			const changed = Object.keys(row).filter(
				(c) => c !== "rowid" && JSON.stringify(row[c]) !== JSON.stringify(old[c]),
			);
			if (changed.length === 0) continue;
			w.updated++;
			w.billed += 1 + t.indexes.filter((ix) => ix.some((c) => changed.includes(c))).length;
		}
		for (const k of prev.keys()) {
			if (t.rows.has(k)) continue;
			w.deleted++;
			w.billed += 1 + t.indexes.length;
		}
		out[name] = w;
	}
	return out;
}

/** Two windows' writes, table by table. */
export function addWritten(a: Record<string, Written>, b: Record<string, Written>): Record<string, Written> {
	const out: Record<string, Written> = {};
	for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
		const x = a[name] ?? { inserted: 0, updated: 0, deleted: 0, billed: 0 };
		const y = b[name] ?? { inserted: 0, updated: 0, deleted: 0, billed: 0 };
		out[name] = {
			inserted: x.inserted + y.inserted,
			updated: x.updated + y.updated,
			deleted: x.deleted + y.deleted,
			billed: x.billed + y.billed,
		};
	}
	return out;
}

export function totalBilled(w: Record<string, Written>): number {
	return Object.values(w).reduce((s, x) => s + x.billed, 0);
}

/** The address allowances in D1 (`address_allowances`), by address key. */
export function allowances(s: Snapshot): Map<string, number> {
	const t = s.get("address_allowances");
	const out = new Map<string, number>();
	for (const row of t?.rows.values() ?? []) out.set(String(row.address_key), Number(row.gpus));
	return out;
}
