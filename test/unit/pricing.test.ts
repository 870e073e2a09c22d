// Quotes, `/v1/prices` and bills are one set of figures: the same price at the same usage, the same fee on the same
// charge, computed exactly (no float rounding that adds a cent).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyStep, billingStep, type BillingState } from "../../workers/domain/billing.ts";
import {
	SKUS,
	centsFor,
	feeOf,
	operatorsShare,
	pricePerGpuHourCents,
	quote,
	type Sku,
	type Usage,
} from "../../workers/domain/pricing.ts";

const HOUR = 3_600_000;
const empty = (): BillingState => ({ deliveredMs: {}, gapMs: 0, charged: 0, refunded: 0, paid: {}, fees: 0 });
const sku = (name: string) => SKUS.find((s) => s.name === name) as Sku;

const anySku = fc.constantFrom(...SKUS);
/** Any usage the Scheduler can report: reserved GPUs are online ones, so never more than online. */
const anyUsage: fc.Arbitrary<Usage> = fc
	.integer({ min: 0, max: 5000 })
	.chain((online) =>
		fc.record({ online_gpus: fc.constant(online), reserved_gpus: fc.integer({ min: 0, max: online }) }),
	);
/** The bounds of the quote and cluster schemas. */
const anyCount = fc.integer({ min: 1, max: 4096 });
const anyHours = fc.oneof(fc.integer({ min: 1, max: 720 }), fc.double({ min: 0.01, max: 720, noNaN: true }));
/** Up to four nodes' shares of some delivered GPU-time, each at least 1 ms. */
const anySplit = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 4 });

/** Exact ceil(base × (1 + reserved / online)), in BigInt: the rule `/v1/prices` states. */
function ruleCents(s: Sku, u: Usage): number {
	if (u.online_gpus === 0) return 2 * s.base_cents;
	const n = BigInt(s.base_cents) * BigInt(u.online_gpus + u.reserved_gpus);
	const d = BigInt(u.online_gpus);
	return Number((n + d - 1n) / d);
}

/** `totalMs` of GPU-time shared among nodes by `split` (the last takes what rounding leaves). */
function delivered(totalMs: number, split: number[]): Record<string, number> {
	const weight = split.reduce((a, b) => a + b, 0);
	const out: Record<string, number> = {};
	let left = totalMs;
	split.forEach((w, i) => {
		const ms = i === split.length - 1 ? left : Math.floor((totalMs * w) / weight);
		out[`node_${i}`] = ms;
		left -= ms;
	});
	return out;
}

/** The smallest whole GPU-ms whose charge at `price` is at least `charge`. */
const msFor = (charge: number, price: number) => Math.ceil((charge * HOUR) / price);

describe("the price per GPU-hour", () => {
	it("is exactly ceil(base × (1 + reserved / online)), within 1×–2× the base, for any usage", () => {
		fc.assert(
			fc.property(anySku, anyUsage, (s, u) => {
				const price = pricePerGpuHourCents(s, u);
				expect(price).toBe(ruleCents(s, u));
				expect(price).toBeGreaterThanOrEqual(s.base_cents);
				expect(price).toBeLessThanOrEqual(2 * s.base_cents);
			}),
		);
	});

	it("does not add a cent where base × multiplier in floats lands a hair above a whole number", () => {
		// 249 × (1 + 2/83) = 255 exactly; 249 * (1 + 2 / 83) in floats is 255.00000000000003, whose ceil was 256.
		expect(Math.ceil(249 * (1 + 2 / 83))).toBe(256);
		expect(pricePerGpuHourCents(sku("H100"), { online_gpus: 83, reserved_gpus: 2 })).toBe(255);
	});

	it("is the same in a quote as in `/v1/prices` for any usage: the order itself is not counted as reserved", () => {
		fc.assert(
			fc.property(anySku, anyUsage, anyCount, anyHours, (s, u, n, h) => {
				const q = quote(s, n, h, u);
				expect(q.price_per_gpu_hour_cents).toBe(pricePerGpuHourCents(s, u));
				expect(q.utilisation).toBe(u.online_gpus > 0 ? u.reserved_gpus / u.online_gpus : 1);
			}),
		);
		// Idle capacity sells at the base price whatever the order's size (it once counted itself: 2 of 2 → 2×).
		expect(quote(sku("A100"), 2, 3, { online_gpus: 2, reserved_gpus: 0 })).toMatchObject({
			multiplier: 1,
			price_per_gpu_hour_cents: 129,
			total_cents: 774,
		});
	});
});

describe("the network fee", () => {
	it("is charge − floor(95 %) of it, so operators get floor(95 %) and the network at least 5 %", () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (c) => {
				expect(operatorsShare(c)).toBe(Math.floor((c * 95) / 100));
				expect(feeOf(c) + operatorsShare(c)).toBe(c);
				expect(feeOf(c)).toBeGreaterThanOrEqual(Math.floor(c / 20));
			}),
		);
		expect([feeOf(774), feeOf(9), feeOf(19)]).toEqual([39, 1, 1]); // not floor(5 %): 38, 0, 0
	});

	it("is what billing takes for any charge at any price, in one step", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 2_000_000 }),
				fc.integer({ min: 1, max: 1000 }),
				anySplit,
				(c, p, split) => {
					// Enough GPU-time delivered to charge `c`, which is all that is held: the step charges exactly `c`.
					const step = billingStep({ ...empty(), deliveredMs: delivered(msFor(c, p), split) }, p, c, false);
					expect(step.charge).toBe(c);
					expect(step.fee).toBe(feeOf(c));
				},
			),
		);
	});

	it("of a quote is the fee billing takes when it charges the quote's total, in one step or in several", () => {
		fc.assert(
			fc.property(
				anySku,
				anyUsage,
				fc.integer({ min: 1, max: 64 }),
				fc.integer({ min: 1, max: 48 }),
				anySplit,
				fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 6 }),
				(s, u, n, h, split, steps) => {
					const q = quote(s, n, h, u);
					const termMs = n * h * HOUR;
					// The full term, delivered at once and billed in one step: the quote's total and fee exactly.
					const once = billingStep(
						{ ...empty(), deliveredMs: delivered(termMs, split) },
						q.price_per_gpu_hour_cents,
						q.hold_cents,
						true,
					);
					expect({ charge: once.charge, fee: once.fee, refund: once.refund }).toEqual({
						charge: q.total_cents,
						fee: q.fee_cents,
						refund: 0,
					});
					// The same term delivered in uneven parts, billed after each: the fees add up to the same.
					let st = empty();
					const weight = steps.reduce((a, b) => a + b, 0);
					let done = 0;
					for (const [i, w] of steps.entries()) {
						const ms = i === steps.length - 1 ? termMs - done : Math.floor((termMs * w) / weight);
						done += ms;
						const deliveredMs = { ...st.deliveredMs };
						for (const [node, part] of Object.entries(delivered(ms, split)))
							deliveredMs[node] = (deliveredMs[node] ?? 0) + part;
						st = { ...st, deliveredMs };
						const final = i === steps.length - 1;
						st = applyStep(st, billingStep(st, q.price_per_gpu_hour_cents, q.hold_cents, final));
					}
					expect({ charged: st.charged, fees: st.fees, refunded: st.refunded }).toEqual({
						charged: q.total_cents,
						fees: q.fee_cents,
						refunded: 0,
					});
				},
			),
		);
	});
});

describe("a quote's total", () => {
	it("is billing's charge for GPUs × hours at the price, the term in whole ms, for any order", () => {
		fc.assert(
			fc.property(anySku, anyUsage, anyCount, anyHours, (s, u, n, h) => {
				const q = quote(s, n, h, u);
				const exact = (BigInt(q.price_per_gpu_hour_cents) * BigInt(n) * BigInt(Math.round(h * HOUR))) / BigInt(HOUR);
				expect(q.total_cents).toBe(Number(exact));
				expect(q.total_cents).toBe(centsFor(n * Math.round(h * HOUR), q.price_per_gpu_hour_cents));
				expect(q.hold_cents).toBe(q.total_cents);
				expect(q.fee_cents).toBe(feeOf(q.total_cents));
			}),
		);
		// 10 idle M-series GPUs at 10¢ for 0.07 h: 7¢ exactly, as billing charges it; the float 10 × 10 × 0.07 is
		// 7.000000000000001, whose ceil once quoted and held 8¢.
		expect(quote(sku("Apple M-series"), 10, 0.07, { online_gpus: 10, reserved_gpus: 0 }).total_cents).toBe(7);
	});
});
