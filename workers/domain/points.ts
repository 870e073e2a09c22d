// The points formula: one node, one epoch, measured inputs in, every term out (documented in docs/POINTS.md).

/** Points for one GPU-hour at weight 1.0 with every challenge passed: one point per GPU-second. */
export const POINTS_PER_GPU_HOUR = 3600;
/** Rented GPU time earns this many times the availability rate. */
export const COMPUTE_MULTIPLIER = 2;

export interface Tier {
	tier: string;
	/** Basis points: 10000 = 1.0 (an RTX 4090). */
	weight_bp: number;
}

/** Claimed model → tier, first match wins; weights relative to an RTX 4090. */
export const TIERS: { pattern: RegExp; tier: Tier }[] = [
	{ pattern: /\b(B200|H200|H100|GH200)\b/i, tier: { tier: "datacenter-hopper", weight_bp: 30000 } },
	{ pattern: /\b(A100|L40S?|A6000|RTX 6000)\b/i, tier: { tier: "datacenter", weight_bp: 20000 } },
	{ pattern: /\b(RTX\s*)?(5090|4090)\b/i, tier: { tier: "consumer-high", weight_bp: 10000 } },
	{ pattern: /\b(RTX\s*)?(5080|4080|3090)\b/i, tier: { tier: "consumer-upper", weight_bp: 7000 } },
	{ pattern: /\b(RTX\s*)?(5070|4070|3080)\b/i, tier: { tier: "consumer-mid", weight_bp: 5000 } },
	{ pattern: /\b(M[1-4])\s*(Ultra|Max)\b/i, tier: { tier: "apple-max", weight_bp: 4000 } },
	{ pattern: /\b(Apple|M[1-4])\b/i, tier: { tier: "apple", weight_bp: 2000 } },
];
export const OTHER_TIER: Tier = { tier: "other", weight_bp: 1500 };

/** The tier of least weight: a node that is not verified is credited one GPU of it. */
export const LOWEST_TIER: Tier = [...TIERS.map((t) => t.tier), OTHER_TIER].reduce((low, t) =>
	t.weight_bp < low.weight_bp ? t : low,
);

/** Basis points: 10000 = the whole (an address share, a bandwidth factor). */
export const BP = 10000;

export function tierOf(gpuModel: string): Tier {
	return TIERS.find((t) => t.pattern.test(gpuModel))?.tier ?? OTHER_TIER;
}

export interface Penalty {
	code: string;
	reason: string;
	/** Share of the gross points removed, (0, 1]. */
	share: number;
}

export interface PointsInputs {
	gpu_model: string;
	gpu_count: number;
	/** The node's verification holds for its current claim (`verificationOf(...).state === "verified"`). */
	verified: boolean;
	/** The epoch started within PROBATION_S of the node's registration: no availability points. */
	probation: boolean;
	/** What the node's address allowance leaves of its availability, in basis points (`addressShareBp`). */
	address_share_bp: number;
	/** Its bandwidth tier's factor on availability, in basis points. */
	bandwidth_factor_bp: number;
	online_seconds: number;
	/** Offline time inside coordinator incidents: credited as online. */
	incident_seconds: number;
	/** GPU-seconds rented while online, whoever rented them (`rentedOnline`). */
	rented_gpu_seconds: number;
	/** Of those, rented by the operator itself or a renter tied to it (`splitRented`): they earn nothing. Default 0. */
	self_rented_gpu_seconds?: number;
	/** Of those, rented by independent renters but not covered by whole cents paid (`paidGpuSeconds`). Default 0. */
	unpaid_gpu_seconds?: number;
	challenges: { issued: number; passed: number; failed: number; missed: number };
	penalties: Penalty[];
}

export interface PointsTerms {
	/** The claimed model's tier and its weight (whether or not verified). */
	tier: string;
	tier_weight_bp: number;
	/** GPUs availability is paid for: the claimed count once verified, else 1. */
	credited_gpus: number;
	/** The weight applied, in basis points: the tier's once verified, else the lowest tier's. */
	effective_weight_bp: number;
	/** passed / (passed + failed + missed), or 1 when none resolved. */
	pass_ratio: number;
	availability_points: number;
	compute_points: number;
	penalty_points: number;
	points: number;
}

/** GPUs whose availability is paid for: every claimed GPU once verified, one otherwise. */
export function creditedGpus(verified: boolean, gpuCount: number): number {
	return verified ? gpuCount : 1;
}

/** Whether an epoch starting at `epochStart` is inside the probation of a node registered at `createdAt` (ms). */
export function onProbation(createdAt: number, epochStart: number, probationS: number): boolean {
	return probationS > 0 && epochStart < createdAt + probationS * 1000;
}

/** One address's share: all of it within the allowance, else floor(allowance × 10000 / total) basis points. */
export function addressShareBp(allowanceGpus: number, totalGpus: number): number {
	return totalGpus > allowanceGpus ? Math.floor((allowanceGpus * BP) / totalGpus) : BP;
}

/**
 * Each address's share (basis points) from the nodes counted behind it: their credited GPUs add up, and the allowance
 * is `allowanceOf(key)` (the setting, or more GPUs a co-scheduled round proved there).
 */
export function addressShares(
	counted: { address_key: string; credited_gpus: number }[],
	allowanceOf: (addressKey: string) => number,
): Map<string, number> {
	const totals = new Map<string, number>();
	for (const n of counted) totals.set(n.address_key, (totals.get(n.address_key) ?? 0) + n.credited_gpus);
	return new Map([...totals].map(([key, total]) => [key, addressShareBp(allowanceOf(key), total)]));
}

/**
 * Exact rational arithmetic, floored once per term (docs/POINTS.md "The formula"): every input is an integer, so the
 * result is the same in any language with big integers, and a hand calculation agrees with it.
 *
 * availability = probation ? 0 : ⌊(online + incident) s × credited GPUs × weight × passed/resolved × address share ×
 *                bandwidth factor × 3600 / 3600⌋
 * compute      = ⌊(rented − self-rented − unpaid) GPU-s × weight × 3600 × 2 / 3600⌋
 * penalty      = ⌊(availability + compute) × min(1, Σ flag shares)⌋
 * points       = availability + compute − penalty
 */
export function computePoints(i: PointsInputs): PointsTerms {
	const t = tierOf(i.gpu_model);
	const effective = i.verified ? t.weight_bp : LOWEST_TIER.weight_bp;
	const credited_gpus = creditedGpus(i.verified, i.gpu_count);
	const resolved = i.challenges.passed + i.challenges.failed + i.challenges.missed;
	const pass_ratio = resolved > 0 ? i.challenges.passed / resolved : 1;
	const [passed, of] = resolved > 0 ? [i.challenges.passed, resolved] : [1, 1];
	const n = BigInt;
	const bp = n(BP);
	const hour = n(POINTS_PER_GPU_HOUR);
	const availability_points = i.probation
		? 0
		: Number(
				(n(i.online_seconds + i.incident_seconds) *
					n(credited_gpus) *
					n(effective) *
					n(passed) *
					n(i.address_share_bp) *
					n(i.bandwidth_factor_bp) *
					hour) /
					(3600n * bp * n(of) * bp * bp),
			);
	const counted = countedGpuSeconds(i);
	const compute_points = Number((n(counted) * n(effective) * hour * n(COMPUTE_MULTIPLIER)) / (3600n * bp));
	const gross = availability_points + compute_points;
	const share = Math.min(
		1,
		i.penalties.reduce((s, p) => s + p.share, 0),
	);
	const penalty_points = share >= 1 ? gross : Math.floor(gross * share);
	return {
		tier: t.tier,
		tier_weight_bp: t.weight_bp,
		credited_gpus,
		effective_weight_bp: effective,
		pass_ratio,
		availability_points,
		compute_points,
		penalty_points,
		points: gross - penalty_points,
	};
}

/** The rented GPU-seconds that earn compute points: those an independent renter paid for. */
export function countedGpuSeconds(i: {
	rented_gpu_seconds: number;
	self_rented_gpu_seconds?: number;
	unpaid_gpu_seconds?: number;
}): number {
	return Math.max(0, i.rented_gpu_seconds - (i.self_rented_gpu_seconds ?? 0) - (i.unpaid_gpu_seconds ?? 0));
}

/**
 * The GPU-seconds that whole cents pay for, of `gpuSeconds` at `priceCents` per GPU-hour: the cents billing charges
 * for them, ⌊gpuSeconds × price / 3600⌋, turned back into time, ⌊cents × 3600 / price⌋ (0 at a price of 0). A rental
 * too short to cost a cent earns nothing; a whole hour at a whole-cent price counts in full.
 */
export function paidGpuSeconds(gpuSeconds: number, priceCents: number): number {
	if (!(priceCents > 0) || gpuSeconds <= 0) return 0;
	const cents = Math.floor((gpuSeconds * priceCents) / 3600);
	return Math.min(gpuSeconds, Math.floor((cents * 3600) / priceCents));
}

/** One cluster's rented time on a node in an epoch, as the settlement sees it. */
export interface RentalPart {
	/** GPU-seconds rented while online in the epoch (`rentedOnlineEach`, summed over the cluster's stretches). */
	gpu_seconds: number;
	/** The cluster's price per GPU-hour in cents (0 when no cluster is on record: nothing was paid). */
	price_cents: number;
	/** The renter is the operator's own account, or tied to it (docs/POINTS.md "Rented time that counts"). */
	tied: boolean;
}

/**
 * A node's rented time in an epoch, split: rented by a renter tied to the operator (`self_rented`: none of it counts),
 * rented by independent renters but beyond the whole cents their price makes of it (`unpaid`), and the total. Each
 * cluster's time is judged on its own, so one renter's payment never covers another's time.
 */
export function splitRented(parts: RentalPart[]): {
	rented_gpu_seconds: number;
	self_rented_gpu_seconds: number;
	unpaid_gpu_seconds: number;
} {
	let [rented, self, unpaid] = [0, 0, 0];
	for (const p of parts) {
		rented += p.gpu_seconds;
		if (p.tied) self += p.gpu_seconds;
		else unpaid += p.gpu_seconds - paidGpuSeconds(p.gpu_seconds, p.price_cents);
	}
	return { rented_gpu_seconds: rented, self_rented_gpu_seconds: self, unpaid_gpu_seconds: unpaid };
}
