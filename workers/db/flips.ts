// Owns the `flips`, `online_intervals` and `incidents` tables: the shards' outbox writes, and history read back.
import type { OutboxOp } from "../contracts.ts";
import type { AccrualInterval } from "../domain/accrual.ts";
import { readModelChanges } from "../domain/flips.ts";

// --- The shards' outbox: written in one batch, every statement idempotent ---

/** Each statement takes one JSON array parameter, so a batch of 5,000 flips is still four statements. */
const SQL = {
	flips: `INSERT OR IGNORE INTO flips (id, node_id, from_status, to_status, at, reason, last_seen_at, incident_id)
		SELECT value->>'id', value->>'node_id', value->>'from_status', value->>'to_status', value->>'at',
		       value->>'reason', value->>'last_seen_at', value->>'incident_id'
		FROM json_each(?1)`,
	opens: `INSERT OR IGNORE INTO online_intervals (node_id, started_at)
		SELECT value->>'node_id', value->>'started_at' FROM json_each(?1)`,
	closes: `UPDATE online_intervals SET ended_at = c.ended_at, end_reason = c.end_reason,
		       incident_id = coalesce(c.incident_id, online_intervals.incident_id)
		FROM (SELECT value->>'node_id' AS node_id, value->>'started_at' AS started_at, value->>'ended_at' AS ended_at,
		             value->>'end_reason' AS end_reason, value->>'incident_id' AS incident_id FROM json_each(?1)) AS c
		WHERE online_intervals.node_id = c.node_id AND online_intervals.started_at = c.started_at`,
	// status_seq guards against an older batch landing after a newer one.
	nodes: `UPDATE nodes SET status = n.status, status_since = n.since, status_seq = n.seq,
		       last_seen_at = coalesce(n.last_seen_at, nodes.last_seen_at), transport = coalesce(n.transport, nodes.transport)
		FROM (SELECT value->>'node_id' AS node_id, value->>'status' AS status, value->>'since' AS since,
		             value->>'last_seen_at' AS last_seen_at, value->>'seq' AS seq, value->>'transport' AS transport
		      FROM json_each(?1)) AS n
		WHERE nodes.id = n.node_id AND nodes.status_seq < n.seq`,
	incident: `INSERT INTO incidents (id, scope, reason, started_at, ended_at, nodes_affected)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6)
		ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at,
		       nodes_affected = max(incidents.nodes_affected, excluded.nodes_affected)`,
	tagFlips: `UPDATE flips SET incident_id = ?1 WHERE id IN (SELECT value FROM json_each(?2))`,
	tagIntervals: `UPDATE online_intervals SET incident_id = ?1
		FROM (SELECT value->>'node_id' AS node_id, value->>'started_at' AS started_at FROM json_each(?2)) AS t
		WHERE online_intervals.node_id = t.node_id AND online_intervals.started_at = t.started_at`,
};

function outboxStatements(db: D1Database, ops: OutboxOp[]): D1PreparedStatement[] {
	const out: D1PreparedStatement[] = [];
	for (const op of ops) {
		if (op.kind === "flips") {
			const c = readModelChanges(op.flips);
			out.push(db.prepare(SQL.flips).bind(JSON.stringify(c.flips)));
			if (c.opens.length) out.push(db.prepare(SQL.opens).bind(JSON.stringify(c.opens)));
			if (c.closes.length) out.push(db.prepare(SQL.closes).bind(JSON.stringify(c.closes)));
			out.push(db.prepare(SQL.nodes).bind(JSON.stringify(c.nodes)));
		} else if (op.kind === "incident") {
			const { id, scope, reason, started_at, ended_at, nodes_affected } = op;
			out.push(db.prepare(SQL.incident).bind(id, scope, reason, started_at, ended_at, nodes_affected));
		} else {
			out.push(db.prepare(SQL.tagFlips).bind(op.incident_id, JSON.stringify(op.flip_ids)));
			out.push(db.prepare(SQL.tagIntervals).bind(op.incident_id, JSON.stringify(op.intervals)));
		}
	}
	return out;
}

/** Applies the ops in one D1 batch (a transaction); returns the D1 rows written. */
export async function writeOutbox(db: D1Database, ops: OutboxOp[]): Promise<number> {
	const statements = outboxStatements(db, ops);
	if (statements.length === 0) return 0;
	const results = await db.batch(statements);
	return results.reduce((sum, r) => sum + (r.meta.rows_written ?? 0), 0);
}

// --- Reads ---

export interface FlipRow {
	from_status: string;
	to_status: string;
	at: number;
	reason: string;
	last_seen_at: number | null;
	incident_id: string | null;
}

export interface IncidentRow {
	id: string;
	scope: string;
	reason: string;
	started_at: number;
	ended_at: number | null;
	nodes_affected: number;
}

/** A node's flips, newest first. */
export async function flipsOf(db: D1Database, nodeId: string, limit: number): Promise<FlipRow[]> {
	const { results } = await db
		.prepare(`SELECT from_status, to_status, at, reason, last_seen_at, incident_id FROM flips
			WHERE node_id = ? ORDER BY at DESC, id DESC LIMIT ?`)
		.bind(nodeId, limit)
		.all<FlipRow>();
	return results;
}

/** Drops (online → offline) of each node since `since`, not counting those inside our own incidents. */
export async function dropsSince(db: D1Database, ids: string[], since: number): Promise<Map<string, number>> {
	const { results } = await db
		.prepare(`SELECT node_id, count(*) AS n FROM flips WHERE node_id IN (SELECT value FROM json_each(?1))
			AND to_status = 'offline' AND from_status = 'online' AND at > ?2 AND incident_id IS NULL GROUP BY node_id`)
		.bind(JSON.stringify(ids), since)
		.all<{ node_id: string; n: number }>();
	return new Map(results.map((d) => [d.node_id, d.n]));
}

/** Intervals of the given nodes that can count in [from, to): overlapping it, or ended in an incident just before. */
export async function windowIntervals(
	db: D1Database,
	nodeIds: string[],
	from: number,
	to: number,
): Promise<Map<string, AccrualInterval[]>> {
	const out = new Map<string, AccrualInterval[]>(nodeIds.map((id) => [id, []]));
	const { results } = await db
		.prepare(`SELECT node_id, started_at, ended_at, incident_id FROM online_intervals
			WHERE node_id IN (SELECT value FROM json_each(?1)) AND started_at < ?3
			  AND (ended_at IS NULL OR ended_at >= ?2 OR (incident_id IS NOT NULL AND ended_at >= ?2 - 86400000))`)
		.bind(JSON.stringify(nodeIds), from, to)
		.all<AccrualInterval & { node_id: string }>();
	for (const r of results) out.get(r.node_id)?.push(r);
	return out;
}

export async function incidentEnds(db: D1Database, ids: string[]): Promise<Map<string, number | null>> {
	if (ids.length === 0) return new Map();
	const { results } = await db
		.prepare("SELECT id, ended_at FROM incidents WHERE id IN (SELECT value FROM json_each(?1))")
		.bind(JSON.stringify(ids))
		.all<{ id: string; ended_at: number | null }>();
	return new Map(results.map((r) => [r.id, r.ended_at]));
}

/** The coordinator's incidents, newest first. */
export async function incidents(db: D1Database, limit: number): Promise<IncidentRow[]> {
	const { results } = await db
		.prepare("SELECT * FROM incidents ORDER BY started_at DESC LIMIT ?")
		.bind(limit)
		.all<IncidentRow>();
	return results;
}

/** Coordinator incidents not yet ended. */
export async function openIncidentCount(db: D1Database): Promise<number> {
	const r = await db.prepare("SELECT count(*) AS n FROM incidents WHERE ended_at IS NULL").first<{ n: number }>();
	return r?.n ?? 0;
}
