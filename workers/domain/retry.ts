// When to try an undelivered outbound message again: exponential backoff with a cap, and when to give up.

export const RETRY_BASE_MS = 30_000;
export const RETRY_CAP_MS = 3_600_000;
/** 30 s, 1 m, 2 m … then hourly: about a day of attempts before a message is given up (and logged). */
export const MAX_ATTEMPTS = 30;

/**
 * Delay before the next attempt after `attempts` failures. A rate limit's own Retry-After is honoured as given
 * (it says exactly when the bucket refills); any other failure backs off exponentially.
 */
export function retryDelayMs(attempts: number, retryAfterMs: number | null = null): number {
	if (retryAfterMs !== null) return Math.min(RETRY_CAP_MS, Math.max(1_000, retryAfterMs));
	return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

export function shouldGiveUp(attempts: number): boolean {
	return attempts >= MAX_ATTEMPTS;
}
