// Cluster money as a pure function: whatever is delivered or missing, no cent is created, lost or paid twice.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyStep, billingStep, type BillingState } from "../../workers/domain/billing.ts";

const HOUR = 3_600_000;
const empty = (): BillingState => ({ deliveredMs: {}, gapMs: 0, charged: 0, refunded: 0, paid: {}, fees: 0 });
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Between two billing steps some nodes deliver GPU-time and some GPU-time goes missing. */
const measures = fc.record({
	delivered: fc.dictionary(
		fc.constantFrom("node_a", "node_b", "node_c", "node_d"),
		fc.integer({ min: 0, max: 8 * HOUR }),
	),
	gap: fc.integer({ min: 0, max: 2 * HOUR }),
});

describe("billingStep", () => {
	it(
		"keeps every invariant for any sequence of steps: " +
			"charges within the hold, charge + refund = hold, payouts + fees = charges",
		() => {
			fc.assert(
				fc.property(
					fc.integer({ min: 1, max: 2000 }),
					fc.integer({ min: 0, max: 50_000 }),
					fc.array(measures, { maxLength: 20 }),
					(price, hold, steps) => {
						let s = empty();
						let charges = 0,
							refunds = 0,
							fees = 0,
							payouts = 0;
						for (const [i, m] of [...steps, { delivered: {}, gap: 0 }].entries()) {
							const deliveredMs = { ...s.deliveredMs };
							for (const [n, ms] of Object.entries(m.delivered)) deliveredMs[n] = (deliveredMs[n] ?? 0) + ms;
							s = { ...s, deliveredMs, gapMs: s.gapMs + m.gap };
							const step = billingStep(s, price, hold, i === steps.length);
							expect(step.charge).toBeGreaterThanOrEqual(0);
							expect(step.refund).toBeGreaterThanOrEqual(0);
							expect(step.fee).toBeGreaterThanOrEqual(0);
							for (const p of Object.values(step.payouts)) expect(p).toBeGreaterThanOrEqual(0);
							expect(sum(step.payouts) + step.fee).toBe(step.charge);
							charges += step.charge;
							refunds += step.refund;
							fees += step.fee;
							payouts += sum(step.payouts);
							expect(charges).toBeLessThanOrEqual(hold);
							expect(charges + refunds).toBeLessThanOrEqual(hold);
							s = applyStep(s, step);
						}
						expect(charges + refunds).toBe(hold);
						expect(payouts + fees).toBe(charges);
						// The network keeps at least its 5 %: operators never get more than 95 % of what was charged.
						expect(payouts).toBeLessThanOrEqual(Math.floor(charges * 0.95));
						expect({ charged: s.charged, refunded: s.refunded, fees: s.fees, paid: sum(s.paid) }).toEqual({
							charged: charges,
							refunded: refunds,
							fees,
							paid: payouts,
						});
					},
				),
			);
		},
	);

	it("returns zeros when called again after its step was applied", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 1, max: 2000 }),
				fc.integer({ min: 0, max: 50_000 }),
				measures,
				fc.boolean(),
				(price, hold, m, final) => {
					const s = applyStep(
						{ ...empty(), deliveredMs: m.delivered, gapMs: m.gap },
						billingStep({ ...empty(), deliveredMs: m.delivered, gapMs: m.gap }, price, hold, final),
					);
					expect(billingStep(s, price, hold, final)).toEqual({ charge: 0, fee: 0, payouts: {}, refund: 0 });
				},
			),
		);
	});

	it("pays operators exactly 95 % of the charge, rounded down once for all nodes rather than per node", () => {
		// Three nodes for one hour at 3¢: 9¢ charged, floor(8.55) = 8¢ to operators; per-node rounding would pay 3 ×
		// floor(2.85) = 6¢.
		const s = { ...empty(), deliveredMs: { node_a: HOUR, node_b: HOUR, node_c: HOUR } };
		const step = billingStep(s, 3, 9, false);
		expect(step.charge).toBe(9);
		expect(sum(step.payouts)).toBe(8);
		expect(Object.values(step.payouts).sort()).toEqual([2, 3, 3]);
		expect(step.fee).toBe(1);
	});

	it("shares the payouts in proportion to the GPU-time each node delivered", () => {
		const step = billingStep({ ...empty(), deliveredMs: { node_a: 3 * HOUR, node_b: HOUR } }, 100, 400, false);
		expect(step).toEqual({ charge: 400, fee: 20, payouts: { node_a: 285, node_b: 95 }, refund: 0 });
	});

	it("refunds missing GPU-time pro rata as it is billed, and the rest of the hold at the end", () => {
		// 2 GPUs × 1 h held at 120¢/GPU-hour; 1.5 GPU-hours delivered, half a GPU-hour missing.
		const s = { ...empty(), deliveredMs: { node_a: HOUR, node_b: HOUR / 2 }, gapMs: HOUR / 2 };
		const step = billingStep(s, 120, 240, false);
		expect(step).toMatchObject({ charge: 180, refund: 60 });
		expect(billingStep(applyStep(s, step), 120, 240, true)).toEqual({ charge: 0, fee: 0, payouts: {}, refund: 0 });
	});
});
