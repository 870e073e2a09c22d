// Seconds a node accrued in an epoch, from recorded intervals: online time, and offline time that was our fault.
import { uptime } from "./uptime.ts";

/** After a coordinator incident ends, nodes it dropped get this long to come back before their downtime is theirs. */
export const INCIDENT_GRACE_MS = 15 * 60 * 1000;

export interface AccrualInterval {
	started_at: number;
	ended_at: number | null;
	/** Set when the interval ended in a coordinator incident. */
	incident_id: string | null;
}

export interface Accrual {
	online_seconds: number;
	incident_seconds: number;
}

/**
 * Online seconds in [from, to), plus incident seconds: after an interval that ended in an incident, the
 * gap until the node came back, at most until the incident's end + INCIDENT_GRACE_MS (an open incident
 * runs to `to`). Whole seconds, floored.
 */
export function accrue(
	intervals: AccrualInterval[],
	incidentEnds: Map<string, number | null>,
	from: number,
	to: number,
): Accrual {
	const online = uptime(intervals, from, to, to).online_seconds;
	const sorted = intervals.slice().sort((a, b) => a.started_at - b.started_at);
	let incidentMs = 0;
	sorted.forEach((iv, k) => {
		if (iv.ended_at === null || iv.incident_id === null) return;
		const incidentEnd = incidentEnds.get(iv.incident_id);
		const cap = incidentEnd === undefined ? iv.ended_at : incidentEnd === null ? to : incidentEnd + INCIDENT_GRACE_MS;
		const next = sorted[k + 1]?.started_at ?? Number.POSITIVE_INFINITY;
		const start = Math.max(iv.ended_at, from);
		const end = Math.min(next, cap, to);
		if (end > start) incidentMs += end - start;
	});
	return { online_seconds: Math.floor(online), incident_seconds: Math.floor(incidentMs / 1000) };
}
