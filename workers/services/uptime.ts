// Uptime of nodes over a window, by the one definition (domain/accrual.ts creditedUptime): intervals and the incidents
// that credit their gaps, read in two queries whatever the number of nodes.
import { incidentEnds, windowIntervals } from "../db/flips.ts";
import { creditedUptime, type AccrualInterval, type CreditedUptime } from "../domain/accrual.ts";

export const DAY_MS = 24 * 3600 * 1000;

export interface UptimeWindow {
	from: number;
	to: number;
	now: number;
}

/** Each node's credited uptime over the window (nodes: id and registration time). */
export async function uptimes(
	db: D1Database,
	nodes: { id: string; created_at: number }[],
	w: UptimeWindow,
): Promise<{ uptime: Map<string, CreditedUptime>; intervals: Map<string, AccrualInterval[]> }> {
	const intervals = await windowIntervals(
		db,
		nodes.map((n) => n.id),
		w.from,
		Math.min(w.to, w.now),
	);
	const ids = [...intervals.values()].flat().flatMap((i) => (i.incident_id ? [i.incident_id] : []));
	const ends = await incidentEnds(db, [...new Set(ids)]);
	const uptime = new Map<string, CreditedUptime>();
	for (const n of nodes) {
		uptime.set(n.id, creditedUptime(intervals.get(n.id) ?? [], ends, { ...w, createdAt: n.created_at }));
	}
	return { uptime, intervals };
}
