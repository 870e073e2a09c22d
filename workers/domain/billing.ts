// Cluster money, computed cumulatively so that rounding never drifts and a retried step never double-counts.
import { NETWORK_FEE_BP } from "./pricing.ts";

/** Cents owed for `gpuMs` GPU-milliseconds at `priceCents` per GPU-hour, floored. */
export function centsFor(gpuMs: number, priceCents: number): number {
	return Math.floor((gpuMs * priceCents) / 3_600_000);
}

export interface BillingState {
	/** Cumulative GPU-ms delivered per node (ready and online while assigned). */
	deliveredMs: Record<string, number>;
	/** Cumulative GPU-ms of gaps: a member lost and not yet replaced. */
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
 * What to move now, given the cumulative measures: charge = price × delivered so far − charged already;
 * each node's payout = 95 % of its own delivered value − paid already; the fee is the rest of the charge;
 * gap refunds the same way. Applying a step's amounts to the state makes the next call return zeros.
 */
export function billingStep(s: BillingState, priceCents: number, holdCents: number, final: boolean): BillingStep {
	const delivered = Object.values(s.deliveredMs).reduce((a, b) => a + b, 0);
	const charge = Math.max(0, Math.min(holdCents - s.refunded, centsFor(delivered, priceCents)) - s.charged);
	const payouts: Record<string, number> = {};
	let paidNow = 0;
	for (const [node, ms] of Object.entries(s.deliveredMs)) {
		const due = Math.floor((centsFor(ms, priceCents) * (10000 - NETWORK_FEE_BP)) / 10000) - (s.paid[node] ?? 0);
		if (due > 0) payouts[node] = due;
		paidNow += Math.max(0, due);
	}
	// Payouts can never exceed what was charged: the fee absorbs rounding and is never negative.
	const totalPaid = Object.values(s.paid).reduce((a, b) => a + b, 0) + paidNow;
	const fee = s.charged + charge - totalPaid - s.fees;
	const gapRefund = Math.max(0, Math.min(holdCents - s.charged - charge, centsFor(s.gapMs, priceCents)) - s.refunded);
	const refund = final ? holdCents - s.charged - charge - s.refunded : gapRefund;
	return { charge, fee: Math.max(0, fee), payouts, refund: Math.max(0, refund) };
}

export function applyStep(s: BillingState, step: BillingStep): BillingState {
	const paid = { ...s.paid };
	for (const [n, v] of Object.entries(step.payouts)) paid[n] = (paid[n] ?? 0) + v;
	return { ...s, charged: s.charged + step.charge, refunded: s.refunded + step.refund, fees: s.fees + step.fee, paid };
}
