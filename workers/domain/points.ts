// The points formula: one node, one epoch, measured inputs in, every term out (documented in docs/POINTS.md).

/** Points for one GPU-hour at weight 1.0 with every challenge passed: one point per GPU-second. */
export const POINTS_PER_GPU_HOUR = 3600;
/** Rented GPU time earns this many times the availability rate. */
export const COMPUTE_MULTIPLIER = 2;
/** Claimed hardware counts at this share until hardware verification exists. */
export const UNVERIFIED_FACTOR_BP = 5000;

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
	verified: boolean;
	online_seconds: number;
	/** Offline time inside coordinator incidents: credited as online. */
	incident_seconds: number;
	rented_gpu_seconds: number;
	challenges: { issued: number; passed: number; failed: number; missed: number };
	penalties: Penalty[];
}

export interface PointsTerms {
	tier: string;
	tier_weight_bp: number;
	/** Effective weight after the unverified factor, in basis points. */
	effective_weight_bp: number;
	/** passed / (passed + failed + missed), or 1 when none resolved. */
	pass_ratio: number;
	availability_points: number;
	compute_points: number;
	penalty_points: number;
	points: number;
}

/**
 * availability = (online + incident) hours × gpu_count × weight × pass ratio × 3600
 * compute      = rented GPU-hours × weight × 3600 × 2
 * penalty      = (availability + compute) × min(1, Σ flag shares)
 * points       = availability + compute − penalty        (each term floored to an integer first)
 */
export function computePoints(i: PointsInputs): PointsTerms {
	const t = tierOf(i.gpu_model);
	const effective = i.verified ? t.weight_bp : Math.floor((t.weight_bp * UNVERIFIED_FACTOR_BP) / 10000);
	const weight = effective / 10000;
	const resolved = i.challenges.passed + i.challenges.failed + i.challenges.missed;
	const pass_ratio = resolved > 0 ? i.challenges.passed / resolved : 1;
	const creditedHours = (i.online_seconds + i.incident_seconds) / 3600;
	const availability_points = Math.floor(creditedHours * i.gpu_count * weight * pass_ratio * POINTS_PER_GPU_HOUR);
	const compute_points = Math.floor((i.rented_gpu_seconds / 3600) * weight * POINTS_PER_GPU_HOUR * COMPUTE_MULTIPLIER);
	const gross = availability_points + compute_points;
	const share = Math.min(
		1,
		i.penalties.reduce((s, p) => s + p.share, 0),
	);
	const penalty_points = share >= 1 ? gross : Math.floor(gross * share);
	return {
		tier: t.tier,
		tier_weight_bp: t.weight_bp,
		effective_weight_bp: effective,
		pass_ratio,
		availability_points,
		compute_points,
		penalty_points,
		points: gross - penalty_points,
	};
}
