// What every settled row, epoch and bill must satisfy whatever happened (restarts, retries, late detection): checked
// where the figures are made, so a figure that breaks one is never published.

export interface SettledFacts {
	node_id: string;
	gpu_count: number;
	online_seconds: number;
	incident_seconds: number;
	rented_gpu_seconds: number;
	challenges_issued: number;
	challenges_passed: number;
	challenges_failed: number;
	challenges_missed: number;
	/** Leaf encoding 2 and 3 rows (docs/POINTS.md) also carry the terms below; older rows have none of them. */
	leaf_version?: number;
	verified?: number;
	credited_gpus?: number | null;
	probation?: number | null;
	address_share_bp?: number | null;
	availability_points?: number;
	/** Encoding 3: rented time that did not count; never more than the rented time. */
	self_rented_gpu_seconds?: number | null;
	unpaid_gpu_seconds?: number | null;
}

/** The broken rules of one ledger row, in words (empty when it is sound). */
export function rowViolations(r: SettledFacts, epochSeconds: number): string[] {
	const out: string[] = [];
	const resolved = r.challenges_passed + r.challenges_failed + r.challenges_missed;
	if (r.challenges_issued !== resolved) {
		out.push(`${r.node_id}: ${r.challenges_issued} challenges issued but ${resolved} passed + failed + missed`);
	}
	const credited = (r.online_seconds + r.incident_seconds) * r.gpu_count;
	if (r.rented_gpu_seconds > credited) {
		out.push(`${r.node_id}: ${r.rented_gpu_seconds} rented GPU-seconds exceed ${credited} online + incident`);
	}
	if (r.online_seconds + r.incident_seconds > epochSeconds) {
		out.push(`${r.node_id}: ${r.online_seconds} online + ${r.incident_seconds} incident seconds exceed the epoch`);
	}
	if (r.leaf_version === 2 || r.leaf_version === 3) out.push(...termViolations(r));
	if (r.leaf_version === 3) {
		const [self, unpaid] = [r.self_rented_gpu_seconds ?? -1, r.unpaid_gpu_seconds ?? -1];
		if (!(self >= 0 && unpaid >= 0 && self + unpaid <= r.rented_gpu_seconds)) {
			out.push(
				`${r.node_id}: ${self} self-rented + ${unpaid} unpaid exceed ${r.rented_gpu_seconds} rented GPU-seconds`,
			);
		}
	}
	return out;
}

/** The rules of the terms an encoding-2 row records: GPUs credited by verification, probation, the address share. */
function termViolations(r: SettledFacts): string[] {
	const out: string[] = [];
	const credited = r.verified === 1 ? r.gpu_count : 1;
	if (r.credited_gpus !== credited) {
		out.push(`${r.node_id}: ${r.credited_gpus} GPUs credited, verified = ${r.verified} gives ${credited}`);
	}
	if (r.probation === 1 && r.availability_points !== 0) {
		out.push(`${r.node_id}: ${r.availability_points} availability points during probation`);
	}
	const share = r.address_share_bp ?? -1;
	if (!(share >= 0 && share <= 10000)) out.push(`${r.node_id}: address share ${r.address_share_bp} outside 0–10000`);
	return out;
}

/** Rewards are floored shares of the emission: their sum is at most the emission, short of it by under one per row. */
export function rewardViolation(rewardSum: number, emission: number, rows: number, totalPoints: number): string | null {
	if (totalPoints === 0) return rewardSum === 0 ? null : `rewards ${rewardSum} paid on zero points`;
	const short = emission - rewardSum;
	return short >= 0 && short < Math.max(1, rows) ? null : `rewards sum to ${rewardSum}, emission is ${emission}`;
}

/** One bill's movements balance: the charge is exactly the payouts plus the fee, and nothing moves backwards. */
export function billViolations(step: { charge: number; fee: number; payouts: Record<string, number>; refund: number }) {
	const paid = Object.values(step.payouts).reduce((a, b) => a + b, 0);
	const out: string[] = [];
	if (step.charge !== paid + step.fee) out.push(`charge ${step.charge} ≠ payouts ${paid} + fee ${step.fee}`);
	if ([step.charge, step.fee, step.refund, ...Object.values(step.payouts)].some((x) => x < 0)) {
		out.push("a negative movement");
	}
	return out;
}
