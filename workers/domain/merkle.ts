// Epoch Merkle trees: canonical leaf encoding, the root, inclusion proofs and their check (shared with the agent).

/** A ledger row as hashed by leaf encoding 1 (rows settled before migration 0012): these fields, in this order. */
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

/** The fields encoding 2 adds, after `verified`: the terms of verification, probation, address and bandwidth. */
export const LEAF_FIELDS_ADDED_V2 = [
	"credited_gpus",
	"effective_weight_bp",
	"probation",
	"address_share_bp",
	"bandwidth_tier",
	"bandwidth_factor_bp",
] as const;

/**
 * A ledger row as hashed by leaf encoding 2 (rows settled from migration 0012 to 0014): its version, then the
 * version-1 fields with those of LEAF_FIELDS_ADDED_V2 after `verified`.
 */
export const LEAF_FIELDS_V2 = [
	"leaf_version",
	...LEAF_FIELDS_V1.slice(0, LEAF_FIELDS_V1.indexOf("verified") + 1),
	...LEAF_FIELDS_ADDED_V2,
	...LEAF_FIELDS_V1.slice(LEAF_FIELDS_V1.indexOf("verified") + 1),
] as const;

/** The fields encoding 3 adds, after `rented_gpu_seconds`: the rented time that did not count, and why. */
export const LEAF_FIELDS_ADDED_V3 = ["self_rented_gpu_seconds", "unpaid_gpu_seconds"] as const;

/** The encoding new rows are hashed with. */
export const LEAF_VERSION = 3;

/**
 * A ledger row as hashed by leaf encoding 3 (docs/POINTS.md): the encoding-2 fields with those of LEAF_FIELDS_ADDED_V3
 * after `rented_gpu_seconds`.
 */
export const LEAF_FIELDS = [
	...LEAF_FIELDS_V2.slice(0, LEAF_FIELDS_V2.indexOf("rented_gpu_seconds") + 1),
	...LEAF_FIELDS_ADDED_V3,
	...LEAF_FIELDS_V2.slice(LEAF_FIELDS_V2.indexOf("rented_gpu_seconds") + 1),
] as const;

/** A row to hash: the version-1 fields, and for encodings 2 and 3 its version and the fields they add. */
export type LeafRow = Record<(typeof LEAF_FIELDS_V1)[number], string | number> &
	Partial<
		Record<
			"leaf_version" | (typeof LEAF_FIELDS_ADDED_V2)[number] | (typeof LEAF_FIELDS_ADDED_V3)[number],
			string | number
		>
	>;

/** The fields a row is hashed with, by its `leaf_version` (absent: 1, every row settled before encoding 2). */
export function leafFields(version: unknown): readonly string[] {
	if (version === undefined || version === null || version === 1) return LEAF_FIELDS_V1;
	if (version === 2) return LEAF_FIELDS_V2;
	if (version === 3) return LEAF_FIELDS;
	throw new Error(`unknown leaf_version ${JSON.stringify(version)}`);
}

export interface ProofStep {
	/** Where the sibling sits: hash(left ‖ right). */
	side: "left" | "right";
	hash: string;
}

const enc = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
	return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(h: string): Uint8Array {
	const out = new Uint8Array(h.length / 2);
	for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
	return out;
}

async function sha256(parts: Uint8Array[]): Promise<string> {
	const len = parts.reduce((n, p) => n + p.length, 0);
	const all = new Uint8Array(len);
	let o = 0;
	for (const p of parts) {
		all.set(p, o);
		o += p.length;
	}
	return hex(await crypto.subtle.digest("SHA-256", all));
}

/** The canonical encoding: a JSON array of the row's fields in its version's order (integers and strings only). */
export function canonicalLeaf(row: LeafRow): string {
	const values = leafFields(row.leaf_version).map((f) => {
		const v = (row as Record<string, unknown>)[f];
		if (typeof v !== "number" && typeof v !== "string") throw new Error(`leaf field ${f} is missing`);
		return v;
	});
	return JSON.stringify(values);
}

/** leaf = SHA-256(0x00 ‖ UTF-8(canonical)) */
export async function leafHash(row: LeafRow): Promise<string> {
	return sha256([new Uint8Array([0]), enc.encode(canonicalLeaf(row))]);
}

/** node = SHA-256(0x01 ‖ left ‖ right), over the raw 32-byte hashes */
export async function nodeHash(left: string, right: string): Promise<string> {
	return sha256([new Uint8Array([1]), unhex(left), unhex(right)]);
}

/** The levels of the tree, leaves first. Leaves are ordered by node_id; an odd last node moves up unchanged. */
async function levels(leaves: string[]): Promise<string[][]> {
	const out = [leaves];
	let level = leaves;
	while (level.length > 1) {
		const next: string[] = [];
		for (let i = 0; i < level.length; i += 2) {
			const [l, r] = [level[i] as string, level[i + 1]];
			next.push(r === undefined ? l : await nodeHash(l, r));
		}
		out.push(next);
		level = next;
	}
	return out;
}

/** Root of the given leaf hashes (already in node_id order); the empty epoch's root is SHA-256 of nothing. */
export async function merkleRoot(leaves: string[]): Promise<string> {
	if (leaves.length === 0) return sha256([]);
	const ls = await levels(leaves);
	return (ls[ls.length - 1] as string[])[0] as string;
}

export async function merkleProof(leaves: string[], index: number): Promise<ProofStep[]> {
	const steps: ProofStep[] = [];
	let i = index;
	for (const level of (await levels(leaves)).slice(0, -1)) {
		const sibling = i % 2 === 0 ? i + 1 : i - 1;
		if (sibling < level.length) steps.push({ side: i % 2 === 0 ? "right" : "left", hash: level[sibling] as string });
		i = Math.floor(i / 2);
	}
	return steps;
}

/** Recomputes the root from a row and its proof; true when it matches the published root. */
export async function verifyProof(row: LeafRow, proof: ProofStep[], root: string): Promise<boolean> {
	let h = await leafHash(row);
	for (const step of proof) h = step.side === "left" ? await nodeHash(step.hash, h) : await nodeHash(h, step.hash);
	return h === root;
}
