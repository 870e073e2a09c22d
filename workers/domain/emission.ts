// The reward emission schedule (the field's): 500M initial supply, 8 %/year falling 1.02 % a month, capped at 800M.

export const INITIAL_SUPPLY = 500_000_000;
export const MAX_SUPPLY = 800_000_000;
export const INITIAL_ANNUAL_RATE = 0.08;
/** The annual rate is multiplied by (1 − 1.02 %) every month. */
export const MONTHLY_RATE_DECAY = 0.0102;
export const MONTH_MS = (365.25 / 12) * 24 * 3600 * 1000;
/** Rewards are recorded in micro-tokens (1e-6) so every figure is an integer. */
export const MICRO = 1_000_000;

/** Tokens emitted in month `m` (0-based) and the supply after it. */
export function monthlyEmission(m: number): { emitted: number; supplyAfter: number } {
	let supply = INITIAL_SUPPLY;
	let emitted = 0;
	for (let k = 0; k <= m; k++) {
		const rate = INITIAL_ANNUAL_RATE * (1 - MONTHLY_RATE_DECAY) ** k;
		emitted = Math.min((supply * rate) / 12, MAX_SUPPLY - supply);
		supply += emitted;
	}
	return { emitted, supplyAfter: supply };
}

/**
 * Micro-tokens emitted over [from, to), with `genesis` the start of month 0; each month's emission is spread evenly
 * over it.
 */
export function emissionBetween(genesis: number, from: number, to: number): number {
	let total = 0;
	for (let t = Math.max(from, genesis); t < to; ) {
		const m = Math.floor((t - genesis) / MONTH_MS);
		const monthEnd = genesis + (m + 1) * MONTH_MS;
		const end = Math.min(to, monthEnd);
		total += (monthlyEmission(m).emitted * (end - t)) / MONTH_MS;
		t = end;
	}
	return Math.floor(total * MICRO);
}

/**
 * Shares `emission` pro rata to points, flooring each share (the remainder stays unemitted); exact integer arithmetic.
 */
export function shareRewards(emission: number, points: number[]): number[] {
	const total = BigInt(points.reduce((s, p) => s + p, 0));
	if (total === 0n) return points.map(() => 0);
	const e = BigInt(emission);
	return points.map((p) => Number((e * BigInt(p)) / total));
}
