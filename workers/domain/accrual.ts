// Seconds a node accrued in an epoch, from recorded intervals: online time, offline time that was our fault, and rented
// GPU time while online.
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
	const ms = accrueMs(intervals, incidentEnds, from, to);
	return { online_seconds: Math.floor(ms.online / 1000), incident_seconds: Math.floor(ms.incident / 1000) };
}

/** `accrue` in milliseconds, unrounded. */
function accrueMs(
	intervals: AccrualInterval[],
	incidentEnds: Map<string, number | null>,
	from: number,
	to: number,
): { online: number; incident: number } {
	const online = Math.round(uptime(intervals, from, to, to).online_seconds * 1000);
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
	return { online, incident: incidentMs };
}

export interface CreditedUptime {
	/** The window measured: from the later of `from` and the node's registration, to the earlier of `to` and now. */
	from: number;
	to: number;
	/** Seconds, to the millisecond (the ledger floors its per-epoch figures to whole seconds). */
	online_seconds: number;
	incident_seconds: number;
	/** (online + incident) ÷ the window, 4 decimals; 0 for an empty window. */
	ratio: number;
}

/**
 * The one definition of a node's uptime (the API, the agent, both bots, the digest and the scheduler's reliability all
 * use it): the seconds the ledger credits — online, and offline inside our incidents — over the part of the window the
 * node existed, up to now.
 */
export function creditedUptime(
	intervals: AccrualInterval[],
	incidentEnds: Map<string, number | null>,
	window: { from: number; to: number; now: number; createdAt: number },
): CreditedUptime {
	const from = Math.max(window.from, window.createdAt);
	const to = Math.min(window.to, window.now);
	if (to <= from) return { from, to: Math.max(from, to), online_seconds: 0, incident_seconds: 0, ratio: 0 };
	const a = accrueMs(intervals, incidentEnds, from, to);
	const ratio = Math.min(1, (a.online + a.incident) / (to - from));
	const seconds = { online_seconds: a.online / 1000, incident_seconds: a.incident / 1000 };
	return { from, to, ...seconds, ratio: Math.round(ratio * 10000) / 10000 };
}

export interface RentalSpan {
	gpu_count: number;
	started_at: number;
	/** null while the rental runs. */
	ended_at: number | null;
}

/**
 * GPU-seconds rented within [from, to) while the node was online: each rental clipped to the window and to the node's
 * online intervals (merged), in whole seconds, times its GPUs. A rental never counts time the node was not there, so
 * rented seconds never exceed online seconds × GPUs, whenever the silence that ended it was noticed.
 */
export function rentedOnline(rentals: RentalSpan[], intervals: AccrualInterval[], from: number, to: number): number {
	return rentedOnlineEach(rentals, intervals, from, to).reduce((sum, s) => sum + s, 0);
}

/** `rentedOnline` of each rental on its own, in the order given (settlement judges each cluster: docs/POINTS.md). */
export function rentedOnlineEach(
	rentals: RentalSpan[],
	intervals: AccrualInterval[],
	from: number,
	to: number,
): number[] {
	const online = uptime(intervals, from, to, to).intervals;
	return rentals.map((r) => {
		const start = Math.max(r.started_at, from);
		const end = Math.min(r.ended_at ?? to, to);
		let gpuSeconds = 0;
		for (const iv of online) {
			const overlap = Math.min(end, iv.ended_at) - Math.max(start, iv.started_at);
			// Whole seconds per stretch: their sum never exceeds the floored online seconds they lie in.
			if (overlap > 0) gpuSeconds += Math.floor(overlap / 1000) * r.gpu_count;
		}
		return gpuSeconds;
	});
}
