// A node's bandwidth tier from the transfers the coordinator timed (docs/VERIFICATION.md §12): the rates, the tier,
// its points factor, the size limits of the test transfers, and the phrase both bots show.

export type BandwidthDirection = "up" | "down";
export type BandwidthTier = "unmeasured" | "low" | "standard" | "high" | "premium";

/** One transfer the coordinator timed: `ms` is its clock from start to end, never a time the node reported. */
export interface BandwidthSample {
	direction: BandwidthDirection;
	bytes: number;
	ms: number;
	/** When it was recorded (ms since the epoch). */
	at: number;
}

export interface Bandwidth {
	tier: BandwidthTier;
	/** The direction's conservative rate (below), Mbps to 0.1; null while it has fewer than MIN_SAMPLES samples. */
	up_mbps: number | null;
	down_mbps: number | null;
	/** Samples counted per direction (the newest WINDOW_SAMPLES at most). */
	samples: { up: number; down: number };
	/** The newest sample counted, once both directions are measured; null while the tier is `unmeasured`. */
	measured_at: string | null;
}

/** A direction is measured from this many samples on. */
export const MIN_SAMPLES = 4;
/** Only the newest this many samples of a direction count (the store keeps no more). */
export const WINDOW_SAMPLES = 8;
/** The percentile of the per-byte durations a rate is taken at: the slow end, so one lucky transfer does not count. */
export const DURATION_PERCENTILE = 0.9;

/**
 * Tiers by the slower direction's rate, in Mbps: `low` below 25 (a home ADSL or a busy shared uplink: fine for
 * batch work that ships little data), `standard` 25 to 200 (cable and most VPS uplinks: a model of a few GB loads in
 * minutes), `high` 200 to 1000 (fibre, data-centre ports below 1 Gbps), `premium` 1000 and more (gigabit and up:
 * multi-node jobs that exchange weights or shards).
 */
export const TIER_FLOORS_MBPS: Readonly<Record<Exclude<BandwidthTier, "unmeasured">, number>> = {
	low: 0,
	standard: 25,
	high: 200,
	premium: 1000,
};

/**
 * The points factor per tier, in basis points (10000 = ×1.0). `unmeasured` is paid like `low`, never more: a slow
 * node gains nothing by skipping the test, and a measured node never earns less than an unmeasured one.
 */
export const TIER_FACTOR_BP: Readonly<Record<BandwidthTier, number>> = {
	unmeasured: 9000,
	low: 9000,
	standard: 10000,
	high: 10500,
	premium: 11000,
};

/** An upload's body must declare (Content-Length) and deliver between these many bytes. */
export const UPLOAD_MIN_BYTES = 10_000_000;
export const UPLOAD_MAX_BYTES = 25_000_000;
/** The blob a download test sends: 16 MiB of fresh random bytes. */
export const DOWNLOAD_BYTES = 16 * 1024 * 1024;
/** crypto.getRandomValues fills at most 65,536 bytes per call. */
export const RANDOM_CHUNK_BYTES = 65_536;
/** A download test must be answered within this long after its blob was handed out; it is then gone. */
export const TEST_TTL_MS = 120_000;
/** Each direction may be tested at most RATE_LIMIT_TESTS times per node in any RATE_LIMIT_WINDOW_MS. */
export const RATE_LIMIT_TESTS = 8;
export const RATE_LIMIT_WINDOW_MS = 3_600_000;

/** bytes × 8 / ms / 1000: megabits per second; a duration below the clock's 1 ms counts as 1 ms. */
export function mbpsOf(bytes: number, ms: number): number {
	return (bytes * 8) / Math.max(1, ms) / 1000;
}

/**
 * The value at percentile `p` (0–1) of the values, by linear interpolation between the closest ranks (numpy's
 * default, Excel's PERCENTILE.INC): sorted ascending as v, position h = p × (n − 1), v[⌊h⌋] + (h − ⌊h⌋) ×
 * (v[⌊h⌋ + 1] − v[⌊h⌋]). NaN for no values.
 */
export function percentile(values: readonly number[], p: number): number {
	const v = [...values].sort((a, b) => a - b);
	if (v.length === 0) return Number.NaN;
	const h = p * (v.length - 1);
	const lo = Math.floor(h);
	const below = v[lo] as number;
	const above = v[Math.min(lo + 1, v.length - 1)] as number;
	return below + (h - lo) * (above - below);
}

/**
 * A direction's rate from its newest WINDOW_SAMPLES samples, or null below MIN_SAMPLES: each sample's duration per
 * byte (max(ms, 1) ÷ bytes), its DURATION_PERCENTILE (the slow end), as a rate: 8 ÷ (that × 1000) Mbps, to 0.1.
 * When every sample has the same size (the agent's do) this is exactly bytes × 8 ÷ p90(ms) ÷ 1000.
 */
export function directionMbps(samples: readonly BandwidthSample[]): number | null {
	if (samples.length < MIN_SAMPLES) return null;
	const perByte = samples.map((s) => Math.max(1, s.ms) / s.bytes);
	const msPerByte = percentile(perByte, DURATION_PERCENTILE);
	return Math.round((8 / msPerByte / 1000) * 10) / 10;
}

/** The tier of a measured node: the slower direction's rate against TIER_FLOORS_MBPS. */
export function tierOf(upMbps: number, downMbps: number): Exclude<BandwidthTier, "unmeasured"> {
	const slower = Math.min(upMbps, downMbps);
	if (slower >= TIER_FLOORS_MBPS.premium) return "premium";
	if (slower >= TIER_FLOORS_MBPS.high) return "high";
	if (slower >= TIER_FLOORS_MBPS.standard) return "standard";
	return "low";
}

/** The newest `WINDOW_SAMPLES` of one direction, newest first. */
function newest(samples: readonly BandwidthSample[], direction: BandwidthDirection): BandwidthSample[] {
	return samples
		.filter((s) => s.direction === direction)
		.sort((a, b) => b.at - a.at)
		.slice(0, WINDOW_SAMPLES);
}

/** A node's bandwidth from its samples (any order; only the newest WINDOW_SAMPLES per direction count). */
export function bandwidthOf(samples: readonly BandwidthSample[]): Bandwidth {
	const up = newest(samples, "up");
	const down = newest(samples, "down");
	const upMbps = directionMbps(up);
	const downMbps = directionMbps(down);
	const counts = { up: up.length, down: down.length };
	if (upMbps === null || downMbps === null)
		return { tier: "unmeasured", up_mbps: upMbps, down_mbps: downMbps, samples: counts, measured_at: null };
	const last = Math.max(...up.map((s) => s.at), ...down.map((s) => s.at));
	return {
		tier: tierOf(upMbps, downMbps),
		up_mbps: upMbps,
		down_mbps: downMbps,
		samples: counts,
		measured_at: new Date(last).toISOString(),
	};
}

/** Tiers from worst to best; placement prefers a higher rank (`tierRank`), and `unmeasured` ranks lowest. */
export const TIER_ORDER: readonly BandwidthTier[] = ["unmeasured", "low", "standard", "high", "premium"];

export function tierRank(tier: BandwidthTier): number {
	return TIER_ORDER.indexOf(tier);
}

/** The points factor of a tier in basis points (10000 = ×1.0); see TIER_FACTOR_BP. */
export function bandwidthFactorBp(tier: BandwidthTier): number {
	return TIER_FACTOR_BP[tier];
}

/** How a chat message names a node's bandwidth, in one short phrase (both bots). */
export function bandwidthText(b: Bandwidth): string {
	if (b.tier === "unmeasured") {
		if (b.samples.up === 0 && b.samples.down === 0) return "bandwidth not measured";
		const needed = (["up", "down"] as const)
			.filter((d) => b.samples[d] < MIN_SAMPLES)
			.map((d) => `${MIN_SAMPLES - b.samples[d]} ${d}`);
		return `bandwidth not measured yet (${needed.join(", ")} to go)`;
	}
	return `bandwidth ${b.tier} (↑ ${b.up_mbps} Mbps, ↓ ${b.down_mbps} Mbps)`;
}
