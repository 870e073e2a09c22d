// Epoch Merkle trees: canonical leaf encoding, the root, inclusion proofs and their check (shared with the agent).

/** A ledger row as hashed: exactly these fields, in this order (docs/POINTS.md). */
export const LEAF_FIELDS = [
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

export type LeafRow = Record<(typeof LEAF_FIELDS)[number], string | number>;

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

/** The canonical encoding: a JSON array of the fields in LEAF_FIELDS order (integers and strings only). */
export function canonicalLeaf(row: LeafRow): string {
	return JSON.stringify(LEAF_FIELDS.map((f) => row[f]));
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
