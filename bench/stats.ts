// Small statistics for the bench: nearest-rank percentiles and a distribution summary.

export interface Summary {
	count: number;
	min: number | null;
	p50: number | null;
	p90: number | null;
	p99: number | null;
	max: number | null;
	mean: number | null;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: number[], p: number): number | null {
	if (sorted.length === 0) return null;
	const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
	return sorted[Math.min(sorted.length, rank) - 1] as number;
}

export function summarize(values: number[]): Summary {
	const s = values.slice().sort((a, b) => a - b);
	return {
		count: s.length,
		min: s[0] ?? null,
		p50: percentile(s, 50),
		p90: percentile(s, 90),
		p99: percentile(s, 99),
		max: s[s.length - 1] ?? null,
		mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null,
	};
}

export function round(x: number | null, digits = 2): number | null {
	if (x === null || !Number.isFinite(x)) return x;
	const f = 10 ** digits;
	return Math.round(x * f) / f;
}
