// Reads the recorded status flips and incidents straight from the local D1 database file (read-only), with wrangler's
// CLI as a fallback.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";

export interface FlipRow {
	node_id: string;
	from_status: string;
	to_status: string;
	at: number;
	reason: string;
	last_seen_at: number | null;
	/** Set when the flip is part of a coordinator incident (stamped at the flip, or tagged once the incident opened). */
	incident_id: string | null;
}

/** A coordinator incident a shard recorded: most of its nodes dropped together, or it restarted. */
export interface IncidentRow {
	id: string;
	scope: string;
	reason: string;
	started_at: number;
	ended_at: number | null;
	nodes_affected: number;
}

const QUERY =
	"SELECT node_id, from_status, to_status, at, reason, last_seen_at, incident_id FROM flips WHERE at >= ? ORDER BY at";
const INCIDENTS =
	"SELECT id, scope, reason, started_at, ended_at, " +
	"nodes_affected FROM incidents WHERE started_at >= ? ORDER BY started_at";

/** node:sqlite prints an ExperimentalWarning when loaded; this bench knows, so that one warning is dropped. */
export async function loadSqlite(): Promise<typeof import("node:sqlite")> {
	const listeners = process.listeners("warning");
	process.removeAllListeners("warning");
	process.on("warning", (w) => {
		if (w.name !== "ExperimentalWarning" || !/SQLite/i.test(w.message)) for (const l of listeners) l(w);
	});
	return import("node:sqlite");
}

/** The D1 database file: the one sqlite file under the persist dir's d1 folder that has a `flips` table. */
export async function findD1File(persistDir: string): Promise<string | null> {
	const dir = join(persistDir, "v3", "d1", "miniflare-D1DatabaseObject");
	if (!existsSync(dir)) return null;
	const { DatabaseSync } = await loadSqlite();
	for (const f of readdirSync(dir)) {
		if (!f.endsWith(".sqlite") || f === "metadata.sqlite") continue;
		let db: DatabaseSync | null = null;
		try {
			db = new DatabaseSync(join(dir, f), { readOnly: true });
			if (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'flips'").get())
				return join(dir, f);
		} catch {
			/* not ours */
		} finally {
			db?.close();
		}
	}
	return null;
}

export class FlipReader {
	private file: string | null = null;
	method: "sqlite-file" | "wrangler-d1-execute" = "sqlite-file";

	private readonly persistDirPath: string;
	private readonly codeRoot: string;

	constructor(persistDirPath: string, codeRoot: string) {
		this.persistDirPath = persistDirPath;
		this.codeRoot = codeRoot;
	}

	/** Flips recorded at or after `since` (ms), oldest first. */
	since(since: number): Promise<FlipRow[]> {
		return this.read<FlipRow>(QUERY, since);
	}

	/** Incidents that started at or after `since` (ms), oldest first. */
	incidents(since: number): Promise<IncidentRow[]> {
		return this.read<IncidentRow>(INCIDENTS, since);
	}

	private async read<T>(query: string, since: number): Promise<T[]> {
		try {
			this.file ??= await findD1File(this.persistDirPath);
			if (this.file) {
				const { DatabaseSync } = await loadSqlite();
				const db = new DatabaseSync(this.file, { readOnly: true });
				try {
					return db.prepare(query).all(since) as unknown as T[];
				} finally {
					db.close();
				}
			}
		} catch (err) {
			console.warn(`reading the D1 file directly failed (${String(err)}); using wrangler d1 execute`);
		}
		this.method = "wrangler-d1-execute";
		return this.viaWrangler<T>(query, since);
	}

	private viaWrangler<T>(query: string, since: number): T[] {
		const sql = query.replace("?", String(Math.floor(since)));
		const r = spawnSync(
			process.execPath,
			[
				join(this.codeRoot, "node_modules/wrangler/bin/wrangler.js"),
				"d1",
				"execute",
				"DB",
				"--local",
				"--persist-to",
				this.persistDirPath,
				"--json",
				"--command",
				sql,
			],
			{
				cwd: this.codeRoot,
				encoding: "utf8",
				maxBuffer: 256 * 1024 * 1024,
				env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" },
				timeout: 120_000,
			},
		);
		if (r.status !== 0) throw new Error(`wrangler d1 execute failed: ${r.stderr.slice(0, 500)}`);
		const parsed = JSON.parse(r.stdout) as { results: T[] }[];
		return parsed[0]?.results ?? [];
	}
}
