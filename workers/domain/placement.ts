// Which idle nodes a cluster gets: whole nodes whose GPUs add up to exactly the count asked for, preferring verified
// hardware, then reliability, bandwidth, locality and price (documented in the README); and why when none do.

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
 * Whole nodes whose GPUs add up to exactly `gpuCount` (a cluster of N GPUs is N GPUs: it is billed for N), null only
 * when no set of the candidates does. Of all the sets that do, the one the ranking prefers: walking the nodes in rank
 * order, each is taken whenever the nodes after it can still make up the rest (so the best-ranked node that fits in
 * some exact fill is always in it). When taking every node that fits in rank order works, that is the answer.
 *
 * Cost: only the best-ranked ⌊gpuCount / size⌋ nodes of each size can be in the preferred set (a worse one of the same
 * size could be swapped for a better unused one), so at most gpuCount × H(64) ≈ 4.7 × gpuCount nodes are considered,
 * each with one pass over a bitset of gpuCount + 1 sums.
 */
export function place(cands: Candidate[], gpuCount: number, region: string | null): Candidate[] | null {
	if (!(gpuCount > 0)) return null;
	const ranked = rank(cands, region);
	const greedy = takeInOrder(ranked, gpuCount);
	if (greedy) return greedy;
	const usable = usefulNodes(ranked, gpuCount);
	const reach = suffixReach(usable, gpuCount);
	if (!reach.has(0, gpuCount)) return null;
	const picked: Candidate[] = [];
	let left = gpuCount;
	for (const [i, c] of usable.entries()) {
		if (left === 0) break;
		if (c.gpu_count <= left && reach.has(i + 1, left - c.gpu_count)) {
			picked.push(c);
			left -= c.gpu_count;
		}
	}
	return left === 0 ? picked : null;
}

/** Every node in rank order that still fits; null when they do not add up to `gpuCount` exactly. */
function takeInOrder(ranked: Candidate[], gpuCount: number): Candidate[] | null {
	const picked: Candidate[] = [];
	let left = gpuCount;
	for (const c of ranked) {
		if (left === 0) break;
		if (c.gpu_count > 0 && c.gpu_count <= left) {
			picked.push(c);
			left -= c.gpu_count;
		}
	}
	return left === 0 ? picked : null;
}

/** The best-ranked ⌊gpuCount / size⌋ nodes of each size, still in rank order (the others cannot be in the best set). */
function usefulNodes(ranked: Candidate[], gpuCount: number): Candidate[] {
	const taken = new Map<number, number>();
	return ranked.filter((c) => {
		const n = taken.get(c.gpu_count) ?? 0;
		if (c.gpu_count <= 0 || (n + 1) * c.gpu_count > gpuCount) return false;
		taken.set(c.gpu_count, n + 1);
		return true;
	});
}

/** Which sums 0..max the nodes from index i on can make, for every i: one bitset of max + 1 bits per suffix. */
function suffixReach(nodes: Candidate[], max: number) {
	const words = (max >>> 5) + 1;
	const bits = new Uint32Array((nodes.length + 1) * words);
	const row = (i: number) => i * words;
	bits[row(nodes.length)] = 1; // the empty suffix makes 0
	for (let i = nodes.length - 1; i >= 0; i--) {
		const from = row(i + 1);
		const to = row(i);
		const shift = (nodes[i] as Candidate).gpu_count;
		const [ws, bs] = [shift >>> 5, shift & 31];
		// to = from | (from << shift), a word at a time (bits above max are never read)
		for (let w = 0; w < words; w++) {
			const lo = w - ws >= 0 ? (bits[from + w - ws] as number) << bs : 0;
			const hi = bs > 0 && w - ws - 1 >= 0 ? (bits[from + w - ws - 1] as number) >>> (32 - bs) : 0;
			bits[to + w] = (bits[from + w] as number) | lo | hi;
		}
	}
	return {
		has: (i: number, sum: number) =>
			sum >= 0 && sum <= max && ((bits[row(i) + (sum >>> 5)] as number) & (1 << (sum & 31))) !== 0,
	};
}

/**
 * Why `place` found nothing, as a sentence that is true of the pool it was given: too few idle GPUs, or enough of them
 * but no set of whole nodes adds up to the count (with the nodes' sizes and the nearest counts that can be placed).
 */
export function unplaceable(cands: Candidate[], gpuCount: number, model: string): string {
	const total = cands.reduce((s, c) => s + c.gpu_count, 0);
	if (total < gpuCount) return `Only ${total} idle ${model} GPUs are online; ${gpuCount} were asked for.`;
	// The sums the whole pool can make: the first row of the table `place` reads.
	const reach = suffixReach(usefulNodes(rank(cands, null), gpuCount), gpuCount);
	let below = gpuCount - 1;
	while (below > 0 && !reach.has(0, below)) below--;
	const sizes = sizesText(cands.map((c) => c.gpu_count));
	const nearest = below > 0 ? ` The largest count that can be placed now below ${gpuCount} is ${below}.` : "";
	return (
		`No set of idle online ${model} nodes adds up to exactly ${gpus(gpuCount)} (a cluster takes whole nodes): ` +
		`${total} GPUs are idle, on nodes of ${sizes}.${nearest}`
	);
}

const gpus = (n: number) => `${n} GPU${n === 1 ? "" : "s"}`;

/** Node sizes, largest first: "3, 3, 2, 2 GPUs", or "40 × 8, 2 × 3 GPUs" when there are many. */
function sizesText(sizes: number[]): string {
	const sorted = sizes.slice().sort((a, b) => b - a);
	if (sorted.length <= 12) return `${sorted.join(", ")} GPUs`;
	const counts = new Map<number, number>();
	for (const s of sorted) counts.set(s, (counts.get(s) ?? 0) + 1);
	const groups = [...counts].map(([size, n]) => `${n} × ${size}`);
	return `${groups.slice(0, 12).join(", ")}${groups.length > 12 ? ", …" : ""} GPUs`;
}
