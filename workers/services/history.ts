// Recorded history read back: a node's flips and the coordinator's incidents.
import { iso } from "../http.ts";

interface FlipRow { from_status: string; to_status: string; at: number; reason: string; last_seen_at: number | null; incident_id: string | null }
interface IncidentRow { id: string; scope: string; reason: string; started_at: number; ended_at: number | null; nodes_affected: number }

export async function listFlips(db: D1Database, nodeId: string, limit: number) {
	const { results } = await db
		.prepare("SELECT from_status, to_status, at, reason, last_seen_at, incident_id FROM flips WHERE node_id = ? ORDER BY at DESC, id DESC LIMIT ?")
		.bind(nodeId, limit)
		.all<FlipRow>();
	return results.map((f) => ({ from: f.from_status, to: f.to_status, at: iso(f.at), reason: f.reason, last_seen_at: iso(f.last_seen_at), incident_id: f.incident_id }));
}

export async function listIncidents(db: D1Database, limit: number) {
	const { results } = await db.prepare("SELECT * FROM incidents ORDER BY started_at DESC LIMIT ?").bind(limit).all<IncidentRow>();
	return results.map((i) => ({ ...i, started_at: iso(i.started_at), ended_at: iso(i.ended_at) }));
}
