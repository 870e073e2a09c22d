// The agent's own check of a ledger row against a published root.
import { describe, expect, it } from "vitest";
import { checkProof } from "../../agent/commands/points.ts";
import { leafHash, merkleProof, merkleRoot, type LeafRow } from "../../workers/domain/merkle.ts";

const row = (node_id: string, points: number): LeafRow => ({
	epoch: 3,
	node_id,
	account_id: "acc_x",
	gpu_model: "RTX 3090",
	gpu_count: 2,
	tier: "consumer-upper",
	tier_weight_bp: 7000,
	verified: 0,
	online_seconds: 1200,
	incident_seconds: 0,
	rented_gpu_seconds: 0,
	challenges_issued: 2,
	challenges_passed: 2,
	challenges_failed: 0,
	challenges_missed: 0,
	availability_points: points,
	compute_points: 0,
	penalty_points: 0,
	points,
	penalties: "[]",
	reward: 12,
});

async function fixture() {
	const rows = [row("node_a", 10), row("node_b", 20), row("node_c", 30)];
	const leaves = await Promise.all(rows.map(leafHash));
	return { rows, leaves, root: await merkleRoot(leaves) };
}

describe("points --verify", () => {
	it("accepts a row whose proof leads to the published root", async () => {
		const { rows, leaves, root } = await fixture();
		const p = {
			epoch: 3,
			root,
			leaf: rows[1] as LeafRow,
			leaf_hash: leaves[1] as string,
			proof: await merkleProof(leaves, 1),
		};
		expect(await checkProof(p, root)).toEqual({ ok: true });
	});

	it("rejects a row whose points were changed after publication", async () => {
		const { rows, leaves, root } = await fixture();
		const p = {
			epoch: 3,
			root,
			leaf: { ...(rows[1] as LeafRow), points: 999 },
			leaf_hash: leaves[1] as string,
			proof: await merkleProof(leaves, 1),
		};
		expect((await checkProof(p, root)).ok).toBe(false);
	});

	it("rejects a proof that leads to another root than the epoch's", async () => {
		const { rows, leaves } = await fixture();
		const p = {
			epoch: 3,
			root: "00",
			leaf: rows[0] as LeafRow,
			leaf_hash: leaves[0] as string,
			proof: await merkleProof(leaves, 0),
		};
		expect(await checkProof(p, "f".repeat(64))).toMatchObject({
			ok: false,
			why: expect.stringMatching(/published root/),
		});
	});
});
