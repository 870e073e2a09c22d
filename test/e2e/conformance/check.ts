// Recomputation from docs/POINTS.md alone: the leaf encoding and hash, the Merkle proof and root, the points formula,
// the settler's invariants and the reward split. Written from the document's words, not from workers/domain/, so a
// difference between the two is a finding, not a shared bug.
import { createHash } from "node:crypto";

/** POINTS.md "Rows settled before encoding 2": the fields of a leaf without `leaf_version`, in hashing order. */
export const LEAF_FIELDS_V1 = [
	"epoch",
	"node_id",
	"account_id",
	"gpu_model",
	"gpu_count",
	"tier",
	"tier_weight_bp",
	"verified",
	"online_seconds",
	"incident_seconds",
	"rented_gpu_seconds",
	"challenges_issued",
	"challenges_passed",
	"challenges_failed",
	"challenges_missed",
	"availability_points",
	"compute_points",
	"penalty_points",
	"points",
	"penalties",
	"reward",
] as const;

/** POINTS.md "Rows settled before encoding 3": the fields of a leaf with `leaf_version` 2, in hashing order. */
export const LEAF_FIELDS_V2 = [
	"leaf_version",
	"epoch",
	"node_id",
	"account_id",
	"gpu_model",
	"gpu_count",
	"tier",
	"tier_weight_bp",
	"verified",
	"credited_gpus",
	"effective_weight_bp",
	"probation",
	"address_share_bp",
	"bandwidth_tier",
	"bandwidth_factor_bp",
	"online_seconds",
	"incident_seconds",
	"rented_gpu_seconds",
	"challenges_issued",
	"challenges_passed",
	"challenges_failed",
	"challenges_missed",
	"availability_points",
	"compute_points",
	"penalty_points",
	"points",
	"penalties",
	"reward",
] as const;

/**
 * POINTS.md "Checking your row", step 1: the fields of a leaf with `leaf_version` 3, in hashing order (encoding 2's
 * with `self_rented_gpu_seconds, unpaid_gpu_seconds` after `rented_gpu_seconds`).
 */
export const LEAF_FIELDS = [
	...LEAF_FIELDS_V2.slice(0, LEAF_FIELDS_V2.indexOf("rented_gpu_seconds") + 1),
	"self_rented_gpu_seconds",
	"unpaid_gpu_seconds",
	...LEAF_FIELDS_V2.slice(LEAF_FIELDS_V2.indexOf("rented_gpu_seconds") + 1),
] as const;

const STRING_FIELDS = new Set(["node_id", "account_id", "gpu_model", "tier", "bandwidth_tier", "penalties"]);

export type Leaf = Record<(typeof LEAF_FIELDS)[number], string | number>;

/** A leaf's fields by its encoding: `leaf_version` 3 or 2, or none (a row settled before encoding 2). */
export function fieldsOf(leaf: Record<string, unknown>): readonly string[] {
	if (leaf.leaf_version === undefined) return LEAF_FIELDS_V1;
	if (leaf.leaf_version === 2) return LEAF_FIELDS_V2;
	if (leaf.leaf_version === 3) return LEAF_FIELDS;
	throw new Error(`leaf_version ${JSON.stringify(leaf.leaf_version)} is not documented`);
}

/** A printed leaf (the JSON array) back to its named fields: 30 values are encoding 3, 28 encoding 2, 21 encoding 1. */
export function leafOfArray(values: unknown[]): Leaf {
	const byLength = new Map<number, readonly string[]>([
		[LEAF_FIELDS.length, LEAF_FIELDS],
		[LEAF_FIELDS_V2.length, LEAF_FIELDS_V2],
	]);
	const fields = byLength.get(values.length) ?? LEAF_FIELDS_V1;
	return Object.fromEntries(fields.map((f, k) => [f, values[k]])) as unknown as Leaf;
}

const SHORT_ESCAPES: Record<string, string> = {
	'"': '\\"',
	"\\": "\\\\",
	"\b": "\\b",
	"\t": "\\t",
	"\n": "\\n",
	"\f": "\\f",
	"\r": "\\r",
};

/** Exactly the escapes POINTS.md lists; everything else (`/`, U+007F, non-ASCII, U+2028/9) is written as itself. */
export function encodeString(s: string): string {
	let out = '"';
	for (const ch of s) {
		const code = ch.codePointAt(0) as number;
		const short = SHORT_ESCAPES[ch];
		if (short) out += short;
		else if (code <= 0x1f) out += `\\u00${code.toString(16).padStart(2, "0")}`;
		else out += ch;
	}
	return `${out}"`;
}

/** A non-negative integer in decimal: no sign, no leading zeros, no point, no exponent. */
function encodeInteger(field: string, v: unknown): string {
	if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
		throw new Error(`leaf field ${field} must be a non-negative integer, got ${JSON.stringify(v)}`);
	}
	return String(v);
}

export function encodeLeaf(leaf: Record<string, unknown>): string {
	const parts = fieldsOf(leaf).map((f) => {
		const v = leaf[f];
		if (STRING_FIELDS.has(f)) {
			if (typeof v !== "string") throw new Error(`leaf field ${f} must be a string, got ${JSON.stringify(v)}`);
			return encodeString(v);
		}
		return encodeInteger(f, v);
	});
	return `[${parts.join(",")}]`;
}

const sha256 = (...parts: Uint8Array[]): Buffer => {
	const h = createHash("sha256");
	for (const p of parts) h.update(p);
	return h.digest();
};

/** Step 2: SHA-256(0x00 ‖ UTF-8 bytes of the array), lowercase hex. */
export function leafHash(encoded: string): string {
	return sha256(Buffer.from([0x00]), Buffer.from(encoded, "utf8")).toString("hex");
}

const inner = (left: Uint8Array, right: Uint8Array): Buffer => sha256(Buffer.from([0x01]), left, right);

/** Step 6: fold the proof from the leaf upwards; the row is in the epoch when this equals the root. */
export function foldProof(leafHashHex: string, proof: { side: string; hash: string }[]): string {
	let h: Buffer = Buffer.from(leafHashHex, "hex");
	for (const step of proof) {
		const sibling = Buffer.from(step.hash, "hex");
		if (step.side === "left") h = inner(sibling, h);
		else if (step.side === "right") h = inner(h, sibling);
		else throw new Error(`proof step with side ${JSON.stringify(step.side)}`);
	}
	return h.toString("hex");
}

/** Steps 3–5: leaves sorted by node_id (byte order), inner nodes pairwise, an odd last node moves up unchanged. */
export function merkleRoot(leaves: { node_id: string; hash: string }[]): string {
	if (leaves.length === 0) return sha256().toString("hex");
	const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
	let level: Buffer[] = [...leaves]
		.sort((a, b) => byteOrder(a.node_id, b.node_id))
		.map((l) => Buffer.from(l.hash, "hex"));
	while (level.length > 1) {
		const next: Buffer[] = [];
		for (let i = 0; i < level.length; i += 2) {
			const left = level[i] as Buffer;
			const right = level[i + 1];
			next.push(right ? inner(left, right) : left);
		}
		level = next;
	}
	return (level[0] as Buffer).toString("hex");
}

/** POINTS.md "Tiers": first match wins. The doc lists model names, not a matching rule; a substring match is used. */
const TIERS: { tier: string; bp: number; matches: (model: string) => boolean }[] = [
	{ tier: "datacenter-hopper", bp: 30000, matches: (m) => /B200|H200|GH200|H100/.test(m) },
	{ tier: "datacenter", bp: 20000, matches: (m) => /A100|L40S?|A6000|RTX 6000/.test(m) },
	{ tier: "consumer-high", bp: 10000, matches: (m) => /5090|4090/.test(m) },
	{ tier: "consumer-upper", bp: 7000, matches: (m) => /5080|4080|3090/.test(m) },
	{ tier: "consumer-mid", bp: 5000, matches: (m) => /5070|4070|3080/.test(m) },
	{ tier: "apple-max", bp: 4000, matches: (m) => /Apple M[1-4] (Max|Ultra)/.test(m) },
	{ tier: "apple", bp: 2000, matches: (m) => /Apple/.test(m) },
	{ tier: "other", bp: 1500, matches: () => true },
];

export function tierOf(model: string): { tier: string; bp: number } {
	const t = TIERS.find((t) => t.matches(model)) as (typeof TIERS)[number];
	return { tier: t.tier, bp: t.bp };
}

export interface Terms {
	availability_points: number;
	compute_points: number;
	penalty_points: number;
	points: number;
}

/** POINTS.md "Tiers": the lowest weight in the table, which a claim that is not verified is paid at. */
export const LOWEST_WEIGHT_BP = Math.min(...TIERS.map((t) => t.bp));

/** POINTS.md "Bandwidth factor". */
export const BANDWIDTH_FACTOR_BP: Record<string, number> = {
	unmeasured: 9000,
	low: 9000,
	standard: 10000,
	high: 10500,
	premium: 11000,
};

/** POINTS.md "The formula": penalty from the flags' shares (doubles, summed left to right), and the total. */
function withPenalty(row: Leaf, availability: number, compute: number): Terms {
	const flags = JSON.parse(String(row.penalties)) as { share: number }[];
	const shares = flags.reduce((s, f) => s + f.share, 0);
	const penalty = Math.floor((availability + compute) * Math.min(1, shares));
	return {
		availability_points: availability,
		compute_points: compute,
		penalty_points: penalty,
		points: availability + compute - penalty,
	};
}

/**
 * POINTS.md "The formula" (encodings 2 and 3): availability and compute as exact fractions of big integers, floored
 * once;
 * a row of encoding 1 by the formula of its time, each floor over the expression evaluated left to right in doubles.
 */
export function recomputePoints(row: Leaf): Terms {
	const n = (f: keyof Leaf) => row[f] as number;
	const resolved = n("challenges_passed") + n("challenges_failed") + n("challenges_missed");
	const credited = n("online_seconds") + n("incident_seconds");
	if (row.leaf_version === undefined) {
		const bp = n("tier_weight_bp");
		const weight = n("verified") ? bp / 10000 : Math.floor((bp * 5000) / 10000) / 10000;
		const passRatio = resolved === 0 ? 1 : n("challenges_passed") / resolved;
		const availability = Math.floor((credited / 3600) * n("gpu_count") * weight * passRatio * 3600);
		const compute = Math.floor((n("rented_gpu_seconds") / 3600) * weight * 3600 * 2);
		return withPenalty(row, availability, compute);
	}
	const b = (f: keyof Leaf) => BigInt(n(f));
	const [passed, of] = resolved === 0 ? [1n, 1n] : [b("challenges_passed"), BigInt(resolved)];
	const weight = b("effective_weight_bp");
	const availability = n("probation")
		? 0
		: Number(
				(BigInt(credited) * b("credited_gpus") * weight * passed * b("address_share_bp") * b("bandwidth_factor_bp")) /
					(of * 10000n * 10000n * 10000n),
			);
	// Encoding 3: only counted time earns (rented − self-rented − unpaid); encoding 2 counted every rented second.
	const uncounted = row.leaf_version === 3 ? n("self_rented_gpu_seconds") + n("unpaid_gpu_seconds") : 0;
	const compute = Number((BigInt(n("rented_gpu_seconds") - uncounted) * weight * 2n) / 10000n);
	return withPenalty(row, availability, compute);
}

/** POINTS.md "Verified and not verified", "Bandwidth factor": the terms an encoding-2 row derives from its inputs. */
export function derivedTermBreaks(row: Leaf): string[] {
	if (row.leaf_version === undefined) return [];
	const n = (f: keyof Leaf) => row[f] as number;
	const verified = n("verified") === 1;
	const out: string[] = [];
	const credited = verified ? n("gpu_count") : 1;
	if (n("credited_gpus") !== credited) out.push(`credited_gpus ${n("credited_gpus")}, the docs give ${credited}`);
	const weight = verified ? n("tier_weight_bp") : LOWEST_WEIGHT_BP;
	if (n("effective_weight_bp") !== weight) out.push(`effective_weight_bp ${n("effective_weight_bp")}, docs ${weight}`);
	const factor = BANDWIDTH_FACTOR_BP[String(row.bandwidth_tier)];
	if (n("bandwidth_factor_bp") !== factor)
		out.push(`bandwidth ${row.bandwidth_tier} × ${n("bandwidth_factor_bp")}, the table gives ${factor}`);
	return out;
}

/** POINTS.md "Invariants", per row; `epochSeconds` is the epoch's length. Returns the broken ones, in words. */
export function rowInvariantBreaks(row: Leaf, epochSeconds: number): string[] {
	const n = (f: keyof Leaf) => row[f] as number;
	const out: string[] = [];
	const sum = n("challenges_passed") + n("challenges_failed") + n("challenges_missed");
	if (n("challenges_issued") !== sum) out.push(`issued ${n("challenges_issued")} ≠ passed + failed + missed ${sum}`);
	const credited = n("online_seconds") + n("incident_seconds");
	if (n("rented_gpu_seconds") > credited * n("gpu_count")) {
		out.push(`rented ${n("rented_gpu_seconds")} > (online + incident ${credited}) × ${n("gpu_count")} GPUs`);
	}
	if (credited > epochSeconds) out.push(`online + incident ${credited} > the epoch's ${epochSeconds} s`);
	if (row.leaf_version !== undefined) {
		if (n("probation") === 1 && n("availability_points") !== 0) out.push("availability points during probation");
		const share = n("address_share_bp");
		if (!(share >= 0 && share <= 10000)) out.push(`address_share_bp ${share} outside 0–10000`);
	}
	if (row.leaf_version === 3 && n("self_rented_gpu_seconds") + n("unpaid_gpu_seconds") > n("rented_gpu_seconds")) {
		out.push(`self-rented ${n("self_rented_gpu_seconds")} + unpaid ${n("unpaid_gpu_seconds")} > rented`);
	}
	return out;
}

/** POINTS.md "Rewards": reward = floor(emission × points / total_points), exact integers; Σ within k − 1 of it. */
export function expectedReward(emission: number, points: number, totalPoints: number): number {
	if (totalPoints === 0) return 0;
	return Number((BigInt(emission) * BigInt(points)) / BigInt(totalPoints));
}

/** README "Prices": ceil(base × (online + reserved) / online) in integers, 2 × base when nothing is online. */
export function expectedPrice(base: number, online: number, reserved: number): number {
	if (online === 0) return 2 * base;
	return Math.min(2 * base, Math.max(base, Math.ceil((base * (online + reserved)) / online)));
}

/** README "Prices": the fee is total − floor(95 % of total), integer cents. */
export function expectedFee(total: number): number {
	return total - Math.floor((total * 95) / 100);
}
