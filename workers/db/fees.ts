// Reads the network fee out of the `credit_entries` table (written by db/credits.ts) for the accounts it concerns. A
// fee entry sits on the network's account; each billing step of a cluster has keys `charge:<cluster>:<n>` (the
// renter), `payout:<cluster>:<n>:<node>` (each operator) and `fee:<cluster>:<n>` (the network), so the step's
// charge = payouts + fee. The renter and the operators see the steps they were charged or paid in.

export interface FeeStepRow {
	/** `<cluster>:<n>`, the step's tag in its entries' keys. */
	tag: string;
	cluster_id: string;
	/** The charge entry's id: the steps' order. */
	id: number;
	charge: number;
	payouts: number;
	fee: number;
	/** What the account paid in this step (the charge, if it is the renter) and was paid (its nodes' payouts). */
	paid_by: number;
	paid_to: number;
	created_at: number;
}

export interface FeeTotals {
	/** Over every step the account was charged in: charges = payouts + fees. */
	renter_charges: number;
	renter_payouts: number;
	renter_fees: number;
	/** Over every step that paid the account: its payouts, and the fees those steps' charges paid the network. */
	operator_payouts: number;
	operator_fees: number;
}

/** Every billing step the account ?1 was charged or paid in, with the step's charge, payouts to all and fee. */
const STEPS = `WITH mine AS (
		SELECT substr(key, 8) AS tag, cluster_id, -held_delta AS paid_by, 0 AS paid_to
		FROM credit_entries WHERE account_id = ?1 AND kind = 'charge'
		UNION ALL
		SELECT substr(key, 8, length(key) - 8 - length(node_id)), cluster_id, 0, available_delta
		FROM credit_entries WHERE account_id = ?1 AND kind = 'payout'
	), steps AS (
		SELECT m.tag, m.cluster_id, c.id, -c.held_delta AS charge, c.created_at,
			coalesce(f.available_delta, 0) AS fee, sum(m.paid_by) AS paid_by, sum(m.paid_to) AS paid_to,
			(SELECT coalesce(sum(p.available_delta), 0) FROM credit_entries p
				WHERE p.cluster_id = m.cluster_id AND p.kind = 'payout'
				AND substr(p.key, 1, length(m.tag) + 8) = 'payout:' || m.tag || ':') AS payouts
		FROM mine m
		JOIN credit_entries c ON c.key = 'charge:' || m.tag
		LEFT JOIN credit_entries f ON f.key = 'fee:' || m.tag
		GROUP BY m.tag, m.cluster_id
	)`;

/** The account's newest `limit` billing steps with their fee, and its totals over all of them. */
export async function feeSteps(
	db: D1Database,
	accountId: string,
	limit: number,
): Promise<{ steps: FeeStepRow[]; totals: FeeTotals }> {
	const [steps, totals] = await db.batch([
		db.prepare(`${STEPS} SELECT * FROM steps ORDER BY id DESC LIMIT ?2`).bind(accountId, limit),
		db
			.prepare(`${STEPS} SELECT
				coalesce(sum(CASE WHEN paid_by > 0 THEN charge END), 0) AS renter_charges,
				coalesce(sum(CASE WHEN paid_by > 0 THEN payouts END), 0) AS renter_payouts,
				coalesce(sum(CASE WHEN paid_by > 0 THEN fee END), 0) AS renter_fees,
				coalesce(sum(paid_to), 0) AS operator_payouts,
				coalesce(sum(CASE WHEN paid_to > 0 THEN fee END), 0) AS operator_fees
			FROM steps`)
			.bind(accountId),
	]);
	const none: FeeTotals = {
		renter_charges: 0,
		renter_payouts: 0,
		renter_fees: 0,
		operator_payouts: 0,
		operator_fees: 0,
	};
	return {
		steps: (steps?.results ?? []) as FeeStepRow[],
		totals: (totals?.results[0] ?? none) as FeeTotals,
	};
}
