// The bandwidth tier, pure: the p90 rate per direction, the tier thresholds, when a node is unmeasured, the factor.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	type BandwidthSample,
	type BandwidthTier,
	bandwidthFactorBp,
	bandwidthOf,
	bandwidthText,
	directionMbps,
	mbpsOf,
	percentile,
	tierOf,
} from "../../workers/domain/bandwidth.ts";

const MB = 1_000_000;
/** `n` samples of one direction, `bytes` each, taking these durations (ms), one second apart from `at0`. */
const samples = (direction: "up" | "down", ms: number[], bytes = 10 * MB, at0 = 0): BandwidthSample[] =>
	ms.map((m, i) => ({ direction, bytes, ms: m, at: at0 + i * 1000 }));

describe("rates", () => {
	it("is bytes × 8 / ms / 1000 Mbps, a duration under 1 ms counting as 1 ms", () => {
		expect(mbpsOf(10 * MB, 800)).toBe(100);
		expect(mbpsOf(16 * MB, 128)).toBe(1000);
		expect(mbpsOf(1000, 0)).toBe(8);
	});

	it("takes the 90th percentile by linear interpolation between the closest ranks", () => {
		expect(percentile([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7);
		expect(percentile([10, 40, 20, 30, 50, 60, 70, 80], 0.9)).toBeCloseTo(73);
		expect(percentile([5], 0.9)).toBe(5);
		expect(percentile([], 0.9)).toBeNaN();
	});

	it("rates a direction at the slow end of its durations: bytes × 8 / p90(ms) / 1000 for equal sizes", () => {
		// p90 of 800, 800, 800, 1600 = 800 + 0.7 × 800 = 1360 ms → 10 MB × 8 / 1360 / 1000 = 58.8 Mbps.
		expect(directionMbps(samples("up", [800, 800, 800, 1600]))).toBe(58.8);
		expect(directionMbps(samples("up", [800, 800, 800, 800]))).toBe(100);
	});

	it("compares samples of different sizes by their duration per byte", () => {
		// 10 MB in 800 ms and 20 MB in 1600 ms are the same 100 Mbps.
		const mixed = [...samples("up", [800, 800]), ...samples("up", [1600, 1600], 20 * MB)];
		expect(directionMbps(mixed)).toBe(100);
	});

	it("is never above the median rate of the samples, whatever they are", () => {
		const sample = fc.record({ bytes: fc.integer({ min: 1, max: 25 * MB }), ms: fc.integer({ min: 0, max: 600_000 }) });
		fc.assert(
			fc.property(fc.array(sample, { minLength: 4, maxLength: 8 }), (xs) => {
				const rate = directionMbps(xs.map((x, i) => ({ direction: "up", ...x, at: i })));
				const rates = xs.map((x) => mbpsOf(x.bytes, x.ms)).sort((a, b) => a - b);
				const median = percentile(rates, 0.5);
				expect(rate).not.toBeNull();
				expect(rate as number).toBeLessThanOrEqual(Math.round(median * 10) / 10 + 0.05);
			}),
		);
	});
});

describe("tiers", () => {
	it("follows the slower direction: low < 25 ≤ standard < 200 ≤ high < 1000 ≤ premium (Mbps)", () => {
		const cases: [number, number, BandwidthTier][] = [
			[24.9, 5000, "low"],
			[25, 5000, "standard"],
			[199.9, 300, "standard"],
			[200, 200, "high"],
			[999.9, 2000, "high"],
			[1000, 1000, "premium"],
			[5000, 0, "low"],
		];
		for (const [up, down, tier] of cases) expect(tierOf(up, down), `${up}/${down}`).toBe(tier);
	});

	it("is unmeasured until both directions have 4 samples", () => {
		expect(bandwidthOf([])).toEqual({
			tier: "unmeasured",
			up_mbps: null,
			down_mbps: null,
			samples: { up: 0, down: 0 },
			measured_at: null,
		});
		const threeDown = bandwidthOf([...samples("up", [80, 80, 80, 80]), ...samples("down", [80, 80, 80])]);
		expect(threeDown).toEqual({
			tier: "unmeasured",
			up_mbps: 1000,
			down_mbps: null,
			samples: { up: 4, down: 3 },
			measured_at: null,
		});
		const both = bandwidthOf([
			...samples("up", [80, 80, 80, 80]),
			...samples("down", [500, 500, 500, 500], 10 * MB, 9000),
		]);
		expect(both).toEqual({
			tier: "standard",
			up_mbps: 1000,
			down_mbps: 160,
			samples: { up: 4, down: 4 },
			measured_at: new Date(12_000).toISOString(),
		});
	});

	it("counts only the newest 8 samples of a direction, whatever their order", () => {
		// Two old, slow samples and eight newer fast ones: the slow ones no longer count.
		const old = samples("down", [8000, 8000]);
		const recent = samples("down", [80, 80, 80, 80, 80, 80, 80, 80], 10 * MB, 100_000);
		const b = bandwidthOf([...recent.reverse(), ...old, ...samples("up", [80, 80, 80, 80])]);
		expect(b.samples.down).toBe(8);
		expect(b.down_mbps).toBe(1000);
		expect(b.tier).toBe("premium");
	});

	it("lets one slow transfer among four pull the rate down (the p90 is the slow end)", () => {
		const steady = bandwidthOf([...samples("up", [80, 80, 80, 80]), ...samples("down", [80, 80, 80, 80])]);
		const oneSlow = bandwidthOf([...samples("up", [80, 80, 80, 80]), ...samples("down", [80, 80, 80, 4000])]);
		expect(steady.tier).toBe("premium");
		expect(oneSlow.down_mbps).toBeLessThan(40);
		expect(oneSlow.tier).toBe("standard");
	});
});

describe("points factor", () => {
	it("pays unmeasured like low, never more, and rises with the tier", () => {
		expect(bandwidthFactorBp("unmeasured")).toBe(9000);
		expect(bandwidthFactorBp("low")).toBe(9000);
		expect(bandwidthFactorBp("standard")).toBe(10000);
		expect(bandwidthFactorBp("high")).toBe(10500);
		expect(bandwidthFactorBp("premium")).toBe(11000);
		const measured: BandwidthTier[] = ["low", "standard", "high", "premium"];
		for (const t of measured) expect(bandwidthFactorBp(t)).toBeGreaterThanOrEqual(bandwidthFactorBp("unmeasured"));
	});
});

describe("bandwidthText", () => {
	it("names the tier and both rates, or what is still missing", () => {
		const measured = bandwidthOf([...samples("up", [80, 80, 80, 80]), ...samples("down", [500, 500, 500, 500])]);
		expect(bandwidthText(measured)).toBe("bandwidth standard (↑ 1000 Mbps, ↓ 160 Mbps)");
		expect(bandwidthText(bandwidthOf([]))).toBe("bandwidth not measured");
		expect(bandwidthText(bandwidthOf([...samples("up", [80, 80, 80, 80]), ...samples("down", [80])]))).toBe(
			"bandwidth not measured yet (3 down to go)",
		);
	});
});
