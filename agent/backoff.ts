// Reconnect timing: exponential backoff with full jitter, so thousands of agents spread out after an outage.

export interface BackoffPolicy {
	baseMs: number;
	factor: number;
	capMs: number;
	/** A connection that stayed up this long counts as healthy: the next failure starts again from attempt 0. */
	resetAfterMs: number;
}

export const BACKOFF: BackoffPolicy = { baseMs: 1_000, factor: 2, capMs: 60_000, resetAfterMs: 30_000 };

/** The upper bound of the delay after `attempt` consecutive failures: min(cap, base · factor^attempt). */
export function backoffCeilingMs(attempt: number, p: BackoffPolicy = BACKOFF): number {
	return Math.min(p.capMs, p.baseMs * p.factor ** Math.max(0, attempt));
}

/**
 * "Full jitter": a uniformly random delay in [0, ceiling). Spreading the whole window (rather than adding a
 * little noise to a fixed delay) is what keeps agents that dropped together from reconnecting together.
 */
export function backoffDelayMs(attempt: number, random: () => number, p: BackoffPolicy = BACKOFF): number {
	return Math.floor(random() * backoffCeilingMs(attempt, p));
}

/**
 * The wait before the next connection attempt, after a connection that was up for `upMs` (0 if it never
 * opened) ended; `attempt` counts the failures since the last healthy connection. Returns the new count.
 */
export function nextBackoff(
	attempt: number,
	upMs: number,
	random: () => number,
	p: BackoffPolicy = BACKOFF,
): { delayMs: number; attempt: number } {
	const current = upMs >= p.resetAfterMs ? 0 : attempt;
	return { delayMs: backoffDelayMs(current, random, p), attempt: current + 1 };
}
