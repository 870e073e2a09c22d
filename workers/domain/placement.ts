// Which idle nodes a cluster gets: verified hardware first, then reliability, bandwidth, locality and price
// (documented in the README).

export interface Candidate {
	node_id: string;
	gpu_count: number;
	region: string | null;
	/** Share of the last 7 days the node was online, 0..1. */
	reliability: number;
	/** The node's asking price per GPU-hour in cents (today every node asks its model's base price). */
	price_cents: number;
	/** 1 when a hardware verification proved the node's claim (docs/VERIFICATION.md). */
	verified: number;
	/** The bandwidth tier's rank (`tierRank`, docs/VERIFICATION.md §12): 0 unmeasured … 4 premium. */
	bandwidth: number;
}

/** Reliability is compared in steps of 1 %, so tiny differences do not override locality. */
function reliabilityStep(c: Candidate): number {
	return Math.round(c.reliability * 100);
}

export function rank(cands: Candidate[], region: string | null): Candidate[] {
	return cands
		.slice()
		.sort(
			(a, b) =>
				b.verified - a.verified ||
				reliabilityStep(b) - reliabilityStep(a) ||
				b.bandwidth - a.bandwidth ||
				(region ? Number(b.region === region) - Number(a.region === region) : 0) ||
				a.price_cents - b.price_cents ||
				a.node_id.localeCompare(b.node_id),
		);
}

/**
 * Whole nodes whose GPUs add up to exactly `gpuCount`, taken in rank order (a node that would overshoot is
 * skipped); null when the idle pool cannot make the count.
 */
export function place(cands: Candidate[], gpuCount: number, region: string | null): Candidate[] | null {
	const picked: Candidate[] = [];
	let left = gpuCount;
	for (const c of rank(cands, region)) {
		if (left === 0) break;
		if (c.gpu_count <= left) {
			picked.push(c);
			left -= c.gpu_count;
		}
	}
	return left === 0 ? picked : null;
}
