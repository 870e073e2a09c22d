import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accrue, rentedOnline } from "../../workers/domain/accrual.ts";
import { applyStep, billingStep, type BillingState } from "../../workers/domain/billing.ts";
import { shareRewards } from "../../workers/domain/emission.ts";
import { billViolations, rewardViolation, rowViolations } from "../../workers/domain/invariants.ts";

const H = 3_600_000;

/** Non-overlapping intervals inside [0, H), some still open at the end. */
const intervals = fc
	.array(fc.tuple(fc.integer({ min: 0, max: H }), fc.integer({ min: 0, max: H }), fc.boolean()), { maxLength: 6 })
	.map((xs) => {
		const cuts = [...new Set(xs.flatMap(([a, b]) => [a, b]))].sort((a, b) => a - b);
		const out = [];
		for (let i = 0; i + 1 < cuts.length; i += 2) {
			out.push({ started_at: cuts[i] as number, ended_at: cuts[i + 1] as number, incident_id: null });
		}
		const last = out[out.length - 1];
		if (last && xs[0]?.[2]) out[out.length - 1] = { ...last, ended_at: null as unknown as number };
		return out as { started_at: number; ended_at: number | null; incident_id: string | null }[];
	});

const rentals = fc.array(
	fc.record({
		gpu_count: fc.integer({ min: 1, max: 8 }),
		started_at: fc.integer({ min: -H, max: H }),
		length: fc.option(fc.integer({ min: 0, max: 2 * H }), { nil: null }),
	}),
	{ maxLength: 4 },
);

describe("settled-row invariants", () => {
	it("rented GPU time counted while online never exceeds online time × GPUs, whatever the rentals", () => {
		fc.assert(
			fc.property(intervals, rentals, fc.integer({ min: 1, max: 8 }), (ivs, rs, gpus) => {
				// One rental at a time: the scheduler reserves a node for one cluster.
				const spans = rs.slice(0, 1).map((r) => ({
					gpu_count: Math.min(r.gpu_count, gpus),
					started_at: r.started_at,
					ended_at: r.length === null ? null : r.started_at + r.length,
				}));
				const a = accrue(ivs, new Map(), 0, H);
				const rented = rentedOnline(spans, ivs, 0, H);
				const row = {
					node_id: "n",
					gpu_count: gpus,
					...a,
					rented_gpu_seconds: rented,
					challenges_issued: 0,
					challenges_passed: 0,
					challenges_failed: 0,
					challenges_missed: 0,
				};
				expect(rowViolations(row, 3600)).toEqual([]);
			}),
		);
	});

	it("does not count a rental's time after the node's interval ended (the silence before detection)", () => {
		const ivs = [{ started_at: 0, ended_at: 60_000, incident_id: null }];
		// The cluster heard of the loss 35 s after the last keepalive: the rental ran to 95 s.
		expect(rentedOnline([{ gpu_count: 2, started_at: 10_000, ended_at: 95_000 }], ivs, 0, H)).toBe(100);
	});

	it("names each broken rule", () => {
		const row = {
			node_id: "node_x",
			gpu_count: 1,
			online_seconds: 10,
			incident_seconds: 0,
			rented_gpu_seconds: 30,
			challenges_issued: 6,
			challenges_passed: 5,
			challenges_failed: 0,
			challenges_missed: 0,
		};
		expect(rowViolations(row, 3600)).toEqual([
			"node_x: 6 challenges issued but 5 passed + failed + missed",
			"node_x: 30 rented GPU-seconds exceed 10 online + incident",
		]);
	});

	it("rewards are within rounding of the emission for any points", () => {
		fc.assert(
			fc.property(
				fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 50 }),
				fc.integer({ min: 0, max: 2 ** 40 }),
				(points, emission) => {
					const rewards = shareRewards(emission, points);
					const total = points.reduce((a, b) => a + b, 0);
					const sum = rewards.reduce((a, b) => a + b, 0);
					expect(rewardViolation(sum, emission, points.length, total)).toBeNull();
				},
			),
		);
		expect(rewardViolation(101, 100, 3, 10)).toMatch(/rewards sum to 101/);
	});

	it("every billing step balances: charge = payouts + fee, nothing negative", () => {
		fc.assert(
			fc.property(
				fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.integer({ min: 0, max: H })), { maxLength: 12 }),
				fc.integer({ min: 1, max: 600 }),
				fc.integer({ min: 0, max: 100_000 }),
				(deliveries, price, hold) => {
					let s: BillingState = { deliveredMs: {}, gapMs: 0, charged: 0, refunded: 0, paid: {}, fees: 0 };
					for (const [node, ms] of deliveries) {
						s = { ...s, deliveredMs: { ...s.deliveredMs, [node]: (s.deliveredMs[node] ?? 0) + ms } };
						const step = billingStep(s, price, hold, false);
						expect(billViolations(step)).toEqual([]);
						s = applyStep(s, step);
					}
					const last = billingStep(s, price, hold, true);
					expect(billViolations(last)).toEqual([]);
				},
			),
		);
	});
});
