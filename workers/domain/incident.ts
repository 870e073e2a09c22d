// Coordinator incidents: when most of a shard's nodes drop together, the fault is ours, not the operators'.
import type { Settings } from "./settings.ts";

/** Drops counted together: a keepalive interval plus a sweep, so that one event's silent drops land in one window. */
export function incidentWindowMs(s: Settings): number {
	return (s.heartbeatIntervalS + s.sweepIntervalS * 2) * 1000;
}

/**
 * True when `drops` nodes leaving within one window is a coordinator-side event: at least
 * INCIDENT_MIN_NODES of them, and at least INCIDENT_FRACTION of the nodes that were online.
 */
export function isIncident(drops: number, onlineBefore: number, s: Settings): boolean {
	return drops >= s.incidentMinNodes && onlineBefore > 0 && drops >= s.incidentFraction * onlineBefore;
}

export interface Drop {
	at: number;
	flipId: string;
	nodeId: string;
	/** Start of the online interval the drop ended, so an incident can be stamped on it. */
	intervalStart: number | null;
}

/** Recent drops of one shard, oldest first; keeps only what the window needs. */
export class DropWindow {
	private drops: Drop[] = [];
	constructor(private readonly windowMs: number) {}

	add(at: number, flip: { id: string; nodeId: string; intervalStart: number | null }): void {
		this.drops.push({ at, flipId: flip.id, nodeId: flip.nodeId, intervalStart: flip.intervalStart });
	}

	/** Drops within the window ending at `now`. */
	recent(now: number): Drop[] {
		this.drops = this.drops.filter((d) => now - d.at <= this.windowMs);
		return this.drops;
	}
}
