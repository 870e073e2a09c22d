// Recorded history read back: a node's flips and the coordinator's incidents.
import { flipsOf, incidents } from "../db/flips.ts";
import { iso } from "../http.ts";

export async function listFlips(db: D1Database, nodeId: string, limit: number) {
	return (await flipsOf(db, nodeId, limit)).map((f) => ({
		from: f.from_status,
		to: f.to_status,
		at: iso(f.at),
		reason: f.reason,
		last_seen_at: iso(f.last_seen_at),
		incident_id: f.incident_id,
	}));
}

export async function listIncidents(db: D1Database, limit: number) {
	return (await incidents(db, limit)).map((i) => ({ ...i, started_at: iso(i.started_at), ended_at: iso(i.ended_at) }));
}
