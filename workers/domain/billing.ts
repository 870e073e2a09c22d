// Cluster money, computed cumulatively so that rounding never drifts and a retried step never double-counts.
import { centsFor, feeOf } from "./pricing.ts";

export interface BillingState {
	/** Cumulative GPU-ms delivered per node (ready while the cluster runs; integers). */
	deliveredMs: Record<string, number>;
	/** Cumulative GPU-ms missing while the cluster runs: GPUs asked for × time running − delivered. */
	gapMs: number;
	charged: number;
	refunded: number;
	paid: Record<string, number>;
	fees: number;
}

export interface BillingStep {
	charge: number;
	fee: number;
	payouts: Record<string, number>;
	refund: number;
}

/**
 * What to move now, given the cumulative measures. Whatever the measures, by construction:
 * - charged ≤ hold − refunded and refunded ≤ hold − charged; the final step refunds the rest (charged +
 *   refunded = hold);
 * - operators share charged − feeOf(charged) (floor(95 %)) in proportion to their delivered GPU-time, and a step never
 *   pays out more than it charges, so every step's fee = charge − payouts ≥ 0, and the fees add up to exactly
 *   feeOf(charged): what a quote says the fee on that charge is.
 * Applying a step's amounts to the state makes the next call return zeros.
 */
export function billingStep(s: BillingState, priceCents: number, holdCents: number, final: boolean): BillingStep {
	const delivered = total(s.deliveredMs);
	const charged = Math.max(s.charged, Math.min(holdCents - s.refunded, centsFor(delivered, priceCents)));
	const charge = charged - s.charged;
	// The operators' pool is what the fee leaves, by the rule quotes use (pricing.ts), so bills and quotes agree.
	const pool = charged - feeOf(charged);
	let budget = Math.min(charge, pool - total(s.paid));
	const payouts: Record<string, number> = {};
	for (const [node, share] of Object.entries(shares(s.deliveredMs, pool))) {
		const due = Math.min(budget, share - (s.paid[node] ?? 0));
		if (due <= 0) continue;
		payouts[node] = due;
		budget -= due;
	}
	const refunded = final
		? holdCents - charged
		: Math.max(s.refunded, Math.min(holdCents - charged, centsFor(s.gapMs, priceCents)));
	return { charge, fee: charge - total(payouts), payouts, refund: refunded - s.refunded };
}

export function applyStep(s: BillingState, step: BillingStep): BillingState {
	const paid = { ...s.paid };
	for (const [n, v] of Object.entries(step.payouts)) paid[n] = (paid[n] ?? 0) + v;
	return { ...s, charged: s.charged + step.charge, refunded: s.refunded + step.refund, fees: s.fees + step.fee, paid };
}

/**
 * `pool` shared in proportion to delivered GPU-time by largest remainder (exact in BigInt), so the shares add up to the
 * pool.
 */
function shares(deliveredMs: Record<string, number>, pool: number): Record<string, number> {
	const sum = BigInt(total(deliveredMs));
	if (sum === 0n) return {};
	const parts = Object.entries(deliveredMs)
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([node, ms]) => {
			const x = BigInt(pool) * BigInt(ms);
			return { node, share: Number(x / sum), rest: x % sum };
		});
	let left = pool - parts.reduce((a, p) => a + p.share, 0);
	for (const p of parts.slice().sort((a, b) => (a.rest === b.rest ? 0 : a.rest > b.rest ? -1 : 1)))
		if (left-- > 0) p.share++;
	return Object.fromEntries(parts.map((p) => [p.node, p.share]));
}

function total(r: Record<string, number>): number {
	return Object.values(r).reduce((a, b) => a + b, 0);
}
