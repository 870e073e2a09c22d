// The network fee as an account's billing shows it: the fee entries sit on the network's account, so a renter's or an
// operator's own entries never show them; this view lists, for every billing step the account was charged or paid
// in, the step's charge, what operators were paid and the fee the network kept (charge = payouts + fee).
import { feeSteps, type FeeStepRow } from "../db/credits.ts";
import { NETWORK_FEE_BP } from "../domain/pricing.ts";
import { iso } from "../http.ts";

function stepView(r: FeeStepRow) {
	return {
		kind: "fee" as const,
		cluster_id: r.cluster_id,
		step: Number(r.tag.slice(r.tag.lastIndexOf(":") + 1)),
		charge_cents: r.charge,
		payouts_cents: r.payouts,
		fee_cents: r.fee,
		paid_by_you_cents: r.paid_by,
		paid_to_you_cents: r.paid_to,
		created_at: iso(r.created_at),
	};
}

/** `fees` of `GET /v1/billing`: the newest `limit` steps that charged or paid the account, and totals over all. */
export async function fees(db: D1Database, accountId: string, limit: number) {
	const { steps, totals } = await feeSteps(db, accountId, limit);
	return {
		rule:
			`each billing step: charge = payouts to operators + fee; operators share floor(${100 - NETWORK_FEE_BP / 100} %) ` +
			"of the cluster's charges, the network keeps the rest",
		as_renter: {
			charges_cents: totals.renter_charges,
			payouts_cents: totals.renter_payouts,
			fees_cents: totals.renter_fees,
		},
		as_operator: { payouts_cents: totals.operator_payouts, fees_cents: totals.operator_fees },
		steps: steps.map(stepView),
	};
}
