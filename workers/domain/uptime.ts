// Uptime from recorded online intervals: clipping to a window and the online ratio.

export interface Interval {
	started_at: number;
	/** null while the interval is still open. */
	ended_at: number | null;
}

export interface Uptime {
	from: number;
	to: number;
	online_seconds: number;
	ratio: number;
	intervals: { started_at: number; ended_at: number; open: boolean }[];
}

/** Clips intervals to [from, to]; an open interval runs until `now`. Overlaps are merged, not double counted. */
export function uptime(rows: Interval[], from: number, to: number, now: number): Uptime {
	const clipped = rows
		.map((r) => ({
			start: Math.max(r.started_at, from),
			end: Math.min(r.ended_at ?? now, to, now),
			open: r.ended_at === null,
		}))
		.filter((r) => r.end > r.start)
		.sort((a, b) => a.start - b.start);
	const merged: { started_at: number; ended_at: number; open: boolean }[] = [];
	for (const r of clipped) {
		const last = merged[merged.length - 1];
		if (last && r.start <= last.ended_at) {
			last.ended_at = Math.max(last.ended_at, r.end);
			last.open ||= r.open;
		} else merged.push({ started_at: r.start, ended_at: r.end, open: r.open });
	}
	const onlineMs = merged.reduce((sum, r) => sum + (r.ended_at - r.started_at), 0);
	const span = Math.max(0, Math.min(to, now) - from);
	return { from, to, online_seconds: onlineMs / 1000, ratio: span > 0 ? onlineMs / span : 0, intervals: merged };
}
