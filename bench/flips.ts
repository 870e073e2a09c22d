// Reads the recorded status flips straight from the local D1 database file (read-only), with wrangler's CLI as a fallback.
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
}

const QUERY = "SELECT node_id, from_status, to_status, at, reason, last_seen_at FROM flips WHERE at >= ? ORDER BY at";

/** node:sqlite prints an ExperimentalWarning when loaded; this bench knows, so that one warning is dropped. */
async function loadSqlite(): Promise<typeof import("node:sqlite")> {
	const listeners = process.listeners("warning");
	process.removeAllListeners("warning");
	process.on("warning", (w) => {
		if (w.name !== "ExperimentalWarning" || !/SQLite/i.test(w.message)) for (const l of listeners) l(w);
	});
	return import("node:sqlite");
}

/** The D1 database file: the one sqlite file under the persist dir's d1 folder that has a `flips` table. */
async function findD1File(persistDir: string): Promise<string | null> {
	const dir = join(persistDir, "v3", "d1", "miniflare-D1DatabaseObject");
	if (!existsSync(dir)) return null;
	const { DatabaseSync } = await loadSqlite();
	for (const f of readdirSync(dir)) {
		if (!f.endsWith(".sqlite") || f === "metadata.sqlite") continue;
		let db: DatabaseSync | null = null;
		try {
			db = new DatabaseSync(join(dir, f), { readOnly: true });
			if (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'flips'").get()) return join(dir, f);
		} catch { /* not ours */ } finally {
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
	async since(since: number): Promise<FlipRow[]> {
		try {
			this.file ??= await findD1File(this.persistDirPath);
			if (this.file) {
				const { DatabaseSync } = await loadSqlite();
				const db = new DatabaseSync(this.file, { readOnly: true });
				try {
					return db.prepare(QUERY).all(since) as unknown as FlipRow[];
				} finally {
					db.close();
				}
			}
		} catch (err) {
			console.warn(`reading the D1 file directly failed (${String(err)}); using wrangler d1 execute`);
		}
		this.method = "wrangler-d1-execute";
		return this.viaWrangler(since);
	}

	private viaWrangler(since: number): FlipRow[] {
		const sql = QUERY.replace("?", String(Math.floor(since)));
		const r = spawnSync(process.execPath, [
			join(this.codeRoot, "node_modules/wrangler/bin/wrangler.js"), "d1", "execute", "DB", "--local",
			"--persist-to", this.persistDirPath, "--json", "--command", sql,
		], { cwd: this.codeRoot, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false" }, timeout: 120_000 });
		if (r.status !== 0) throw new Error(`wrangler d1 execute failed: ${r.stderr.slice(0, 500)}`);
		const parsed = JSON.parse(r.stdout) as { results: FlipRow[] }[];
		return parsed[0]?.results ?? [];
	}
}
