// The daily digest of one operator: nodes by status, 24 h uptime, drops, and the parts of the network that exist so far.
import { clip } from "../domain/alert-text.ts";
import { DAY_MS, intervalsFor, listNodeRows, uptime24h } from "./nodes.ts";

/** The next time (ms) the digest is due at `hourUtc`, strictly after `now`. */
export function nextDigestAt(hourUtc: number, now: number): number {
	const day = Math.floor(now / DAY_MS) * DAY_MS;
	const today = day + hourUtc * 3_600_000;
	return today > now ? today : today + DAY_MS;
}

/** A count from a table that may not exist yet on this deployment (points, flags and tickets arrive with their own issues). */
async function optionalCount(db: D1Database, sql: string, ...params: unknown[]): Promise<number | null> {
	try {
		return (await db.prepare(sql).bind(...params).first<{ n: number }>())?.n ?? 0;
	} catch {
		return null;
	}
}

export async function buildDigest(env: Env, accountId: string, now: number): Promise<string> {
	const rows = await listNodeRows(env.DB, accountId);
	const ids = rows.map((r) => r.id);
	const intervals = await intervalsFor(env.DB, ids, now - DAY_MS, now);
	const { results: drops } = await env.DB
		.prepare(`SELECT node_id, count(*) AS n FROM flips WHERE node_id IN (SELECT value FROM json_each(?1)) AND to_status = 'offline'
		          AND from_status = 'online' AND at > ?2 AND incident_id IS NULL GROUP BY node_id`)
		.bind(JSON.stringify(ids), now - DAY_MS)
		.all<{ node_id: string; n: number }>();
	const dropsOf = new Map(drops.map((d) => [d.node_id, d.n]));
	const by = (s: string) => rows.filter((r) => r.status === s).length;
	const uptimes = rows.map((r) => ({ name: r.name, u: uptime24h(r, intervals.get(r.id) ?? [], now), drops: dropsOf.get(r.id) ?? 0 }));
	const avg = uptimes.length ? uptimes.reduce((s, x) => s + x.u, 0) / uptimes.length : 0;
	const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
	const lines = [
		`📋 Daily digest — ${new Date(now).toISOString().slice(0, 10)}`,
		`Nodes: ${rows.length} (${by("online")} online, ${by("offline")} offline, ${by("maintenance")} in maintenance, ${by("new")} never connected)`,
	];
	if (rows.length) {
		lines.push(`Uptime, last 24 h: ${pct(avg)} on average; ${drops.reduce((s, d) => s + d.n, 0)} drops (coordinator incidents not counted)`);
		const worst = uptimes.filter((x) => x.u < 1 || x.drops > 0).sort((a, b) => a.u - b.u).slice(0, 5);
		for (const w of worst) lines.push(`• ${w.name}: ${pct(w.u)}${w.drops ? `, ${w.drops} drop${w.drops === 1 ? "" : "s"}` : ""}`);
	}
	const flags = await optionalCount(env.DB, "SELECT count(*) AS n FROM flags WHERE node_id IN (SELECT value FROM json_each(?1)) AND cleared_at IS NULL", JSON.stringify(ids));
	const tickets = await optionalCount(env.DB, "SELECT count(*) AS n FROM tickets WHERE account_id = ?1 AND status != 'closed'", accountId);
	lines.push("Points: the points ledger is not live yet; your points will show here once it is.");
	if (flags !== null) lines.push(`Flags: ${flags === 0 ? "none" : `${flags} active (see GET /v1/nodes)`}`);
	if (tickets !== null) lines.push(`Open support tickets: ${tickets}`);
	lines.push("Turn this off with /alerts digest off.");
	return clip(lines.join("\n"));
}
