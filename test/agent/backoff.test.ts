// Reconnect backoff: exponential with full jitter, capped at 60 s, reset after a healthy 30 s connection.
import { describe, expect, it } from "vitest";
import { BACKOFF, backoffCeilingMs, backoffDelayMs, nextBackoff } from "../../agent/backoff.ts";

const almostOne = () => 0.999_999;

describe("backoff", () => {
	it("waits less than 1 s after the first failure, then doubles the window", () => {
		expect([0, 1, 2, 3, 4, 5].map((a) => backoffCeilingMs(a))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
		expect(backoffDelayMs(0, almostOne)).toBe(999);
		expect(backoffDelayMs(3, almostOne)).toBe(7_999);
	});

	it("backs off at most 60 s however many attempts failed", () => {
		for (const attempt of [6, 7, 10, 50, 1_000, 1e6]) {
			expect(backoffCeilingMs(attempt)).toBe(60_000);
			expect(backoffDelayMs(attempt, almostOne)).toBeLessThan(60_000);
		}
	});

	it("can reconnect at once: full jitter starts the window at 0", () => {
		expect(backoffDelayMs(9, () => 0)).toBe(0);
	});

	it("spreads delays uniformly over the whole window (full jitter, not a fixed delay plus noise)", () => {
		let seed = 42;
		const lcg = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
		const delays = Array.from({ length: 10_000 }, () => backoffDelayMs(4, lcg));
		const buckets = [0, 0, 0, 0];
		for (const d of delays) buckets[Math.floor(d / 4_000)]!++;
		expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
		expect(Math.max(...delays)).toBeLessThan(16_000);
		for (const b of buckets) expect(b).toBeGreaterThan(2_200); // ~2,500 each
		expect(new Set(delays).size).toBeGreaterThan(5_000);
	});

	it("grows the attempt count while connections keep failing quickly", () => {
		let attempt = 0;
		const windows: number[] = [];
		for (let i = 0; i < 8; i++) {
			const next = nextBackoff(attempt, 5_000, almostOne);
			windows.push(next.delayMs + 1);
			attempt = next.attempt;
		}
		expect(windows).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
		expect(attempt).toBe(8);
	});

	it("starts over from a 1 s window after a connection that stayed up 30 s", () => {
		expect(nextBackoff(7, BACKOFF.resetAfterMs, almostOne)).toEqual({ delayMs: 999, attempt: 1 });
		expect(nextBackoff(7, BACKOFF.resetAfterMs - 1, almostOne)).toEqual({ delayMs: 59_999, attempt: 8 });
	});

	it("treats a connection that never opened as a failure", () => {
		expect(nextBackoff(2, 0, almostOne)).toEqual({ delayMs: 3_999, attempt: 3 });
	});
});
