// The delivery pace as the receiver counts it: whatever the latencies, no second of arrivals exceeds the limit.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SlidingLimit } from "../../workers/transports/delivery.ts";

/**
 * Sends `n` requests as fast as the limit allows; request i takes latencies[i] ms to be answered and reaches the
 * receiver at a point `arrival[i]` ∈ [0, 1] of the way from its start to its reply. Returns the arrival times.
 */
function simulate(limit: number, latencies: number[], arrival: number[]): number[] {
	const pace = new SlidingLimit(limit);
	const inFlight: { end: number }[] = [];
	const arrivals: number[] = [];
	let next = 0;
	let now = 0;
	while (next < latencies.length || inFlight.length) {
		let wakeAt = Infinity;
		while (next < latencies.length) {
			const free = pace.free(now);
			if (free !== true) {
				wakeAt = free;
				break;
			}
			pace.start();
			const latency = latencies[next] as number;
			arrivals.push(now + (arrival[next] as number) * latency);
			inFlight.push({ end: now + latency });
			next++;
		}
		inFlight.sort((a, b) => a.end - b.end);
		const first = inFlight[0];
		if (first && first.end <= wakeAt) {
			now = first.end;
			for (const r of inFlight.filter((x) => x.end === now)) pace.finish(r.end);
			inFlight.splice(0, inFlight.filter((x) => x.end === now).length);
		} else now = Math.max(now + 1, wakeAt);
	}
	return arrivals.sort((a, b) => a - b);
}

/** The most arrivals in any half-open second [t, t + 1000). */
function busiestSecond(arrivals: number[]): number {
	let most = 0;
	for (let i = 0, j = 0; i < arrivals.length; i++) {
		while ((arrivals[i] as number) - (arrivals[j] as number) >= 1000) j++;
		most = Math.max(most, i - j + 1);
	}
	return most;
}

describe("SlidingLimit", () => {
	it("never lets more than the limit arrive in one second, whatever the latencies and the moment of arrival", () => {
		const job = fc.record({
			latency: fc.integer({ min: 0, max: 3000 }),
			at: fc.double({ min: 0, max: 1, noNaN: true }),
		});
		fc.assert(
			fc.property(fc.integer({ min: 1, max: 30 }), fc.array(job, { minLength: 1, maxLength: 150 }), (limit, jobs) => {
				const arrivals = simulate(
					limit,
					jobs.map((j) => j.latency),
					jobs.map((j) => j.at),
				);
				return arrivals.length === jobs.length && busiestSecond(arrivals) <= limit;
			}),
		);
	});

	it("sends the limit at once when nothing was sent in the last second, then waits for a slot", () => {
		const pace = new SlidingLimit(2);
		expect(pace.free(0)).toBe(true);
		pace.start();
		expect(pace.free(0)).toBe(true);
		pace.start();
		expect(pace.free(0)).toBe(50); // both still in flight: look again shortly
		pace.finish(400);
		expect(pace.free(500)).toBe(1400); // one in flight, one answered: free a second after that reply
		expect(pace.free(1400)).toBe(true);
	});
});
