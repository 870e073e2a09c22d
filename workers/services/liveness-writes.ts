// Writes a shard's outbox (flips, incidents, incident tags) to D1 in one batch; every statement is idempotent.
import type { OutboxOp } from "../contracts.ts";
import { readModelChanges } from "../domain/flips.ts";

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
		       last_seen_at = coalesce(n.last_seen_at, nodes.last_seen_at)
		FROM (SELECT value->>'node_id' AS node_id, value->>'status' AS status, value->>'since' AS since,
		             value->>'last_seen_at' AS last_seen_at, value->>'seq' AS seq FROM json_each(?1)) AS n
		WHERE nodes.id = n.node_id AND nodes.status_seq < n.seq`,
	incident: `INSERT INTO incidents (id, scope, reason, started_at, ended_at, nodes_affected) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
		ON CONFLICT (id) DO UPDATE SET ended_at = excluded.ended_at, nodes_affected = max(incidents.nodes_affected, excluded.nodes_affected)`,
	tagFlips: `UPDATE flips SET incident_id = ?1 WHERE id IN (SELECT value FROM json_each(?2))`,
	tagIntervals: `UPDATE online_intervals SET incident_id = ?1
		FROM (SELECT value->>'node_id' AS node_id, value->>'started_at' AS started_at FROM json_each(?2)) AS t
		WHERE online_intervals.node_id = t.node_id AND online_intervals.started_at = t.started_at`,
};

export function outboxStatements(db: D1Database, ops: OutboxOp[]): D1PreparedStatement[] {
	const out: D1PreparedStatement[] = [];
	for (const op of ops) {
		if (op.kind === "flips") {
			const c = readModelChanges(op.flips);
			const seqs = new Map(op.flips.map((f) => [f.nodeId, Number(f.id.slice(f.id.lastIndexOf(":") + 1))]));
			const nodes = c.nodes.map((n) => ({ ...n, seq: seqs.get(n.node_id) ?? 0 }));
			out.push(db.prepare(SQL.flips).bind(JSON.stringify(c.flips)));
			if (c.opens.length) out.push(db.prepare(SQL.opens).bind(JSON.stringify(c.opens)));
			if (c.closes.length) out.push(db.prepare(SQL.closes).bind(JSON.stringify(c.closes)));
			out.push(db.prepare(SQL.nodes).bind(JSON.stringify(nodes)));
		} else if (op.kind === "incident") {
			out.push(db.prepare(SQL.incident).bind(op.id, op.scope, op.reason, op.started_at, op.ended_at, op.nodes_affected));
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
