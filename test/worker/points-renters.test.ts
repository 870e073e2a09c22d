// Rented time that counts (docs/POINTS.md): compute points only from renters independent of the operator, and only for
// the time their payment covers. Inputs are written as the Cluster object and the shards record them (the cluster's
// row, rentals, online intervals, links, connection addresses), so every figure is known in advance.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { leafHash, verifyProof, type LeafRow, type ProofStep } from "../../workers/domain/merkle.ts";
import { HARDWARE, callJson, markVerified, newAccount, registerNode, type TestNode } from "./helpers.ts";
import { ledgerRow as row, online, openEpoch } from "./ledger-fixtures.ts";

const S = 1000;
const H = 3600 * S;
const settler = () => env.SETTLER.getByName("global");

async function closeAfter(length: number): Promise<number> {
	const open = await openEpoch();
	const result = await settler().settleNow(open.started_at + length);
	expect(result.settled.map((s) => s.epoch)).toContain(open.n);
	return open.n;
}

/** A cluster of `renterId` at `priceCents` per GPU-hour in which `node` worked one GPU over [from, to). */
async function rental(
	id: string,
	renterId: string,
	priceCents: number,
	node: TestNode,
	from: number,
	to: number,
): Promise<void> {
	await env.DB.batch([
		env.DB.prepare(
			`INSERT INTO clusters (id, account_id, gpu_model, gpu_count, hours, status, price_cents, created_at, ended_at)
			VALUES (?, ?, 'RTX 4090', 1, 1, 'terminated', ?, ?, ?)`,
		).bind(id, renterId, priceCents, from, to),
		env.DB.prepare(
			"INSERT INTO rentals (node_id, cluster_id, gpu_count, started_at, ended_at) VALUES (?, ?, 1, ?, ?)",
		).bind(node.id, id, from, to),
	]);
}

/** A link code of the account, redeemed by `by` (`discord:<user id>`, `telegram:<chat id>`), as links.ts records it. */
async function linked(accountId: string, by: string): Promise<void> {
	await env.DB.prepare(
		`INSERT INTO link_codes (code_hash, account_id, created_at, expires_at, used_at, used_by)
		VALUES (?, ?, 0, 1, 0, ?)`,
	)
		.bind(crypto.randomUUID(), accountId, by)
		.run();
}

/** The address unit of the node's latest connection, as the node link files it (`node_identity`). */
async function behind(node: TestNode, addressKey: string): Promise<void> {
	await env.DB.prepare(
		`INSERT INTO node_identity (node_id, address, address_key, network, first_seen_at, seen_at)
		 VALUES (?1, ?2, ?2, ?2, 0, 0) ON CONFLICT (node_id) DO UPDATE SET address = ?2, address_key = ?2`,
	)
		.bind(node.id, addressKey)
		.run();
}

beforeAll(async () => {
	await settler().tick(Date.now()); // the first epoch starts now
	await closeAfter(1); // and ends at once: the test's epoch starts after its nodes registered
});

describe("rented time that counts", () => {
	it("counts only time independent renters paid for; own, linked or co-located renters earn nothing", async () => {
		const operator = await newAccount("operator");
		const node = await registerNode(operator, { hardware: { ...HARDWARE, gpu_count: 4 } });
		await markVerified(node, { ...HARDWARE, gpu_count: 4 });
		await behind(node, "203.0.113.50");
		const friend = await newAccount("friend"); // linked to the same Discord user as the operator
		await linked(operator.id, "discord:4242");
		await linked(friend.id, "discord:4242");
		const neighbour = await newAccount("neighbour"); // operates a node behind the rented node's address
		await behind(await registerNode(neighbour), "203.0.113.50");
		const stranger = await newAccount("stranger"); // linked too, but to someone else
		await linked(stranger.id, "telegram:777");
		await behind(await registerNode(stranger), "198.51.100.7");

		const t0 = (await openEpoch()).started_at;
		await online(node, t0, t0 + H);
		// 36¢ per GPU-hour: 1¢ pays for 100 GPU-seconds.
		await rental("clu_own", operator.id, 36, node, t0, t0 + 600 * S);
		await rental("clu_friend", friend.id, 36, node, t0, t0 + 600 * S);
		await rental("clu_neighbour", neighbour.id, 36, node, t0, t0 + 600 * S);
		await rental("clu_stranger", stranger.id, 36, node, t0 + 1000 * S, t0 + 2050 * S); // 1050 s: 10.5¢, 10¢ charged
		await rental("clu_brief", stranger.id, 36, node, t0 + 3000 * S, t0 + 3050 * S); // 50 s: 0.5¢, nothing charged
		const n = await closeAfter(H);

		const r = await row(n, node);
		expect(r).toMatchObject({
			leaf_version: 3,
			rented_gpu_seconds: 600 * 3 + 1050 + 50,
			self_rented_gpu_seconds: 1800, // own account, the same Discord user, a node behind the same address
			unpaid_gpu_seconds: 50 + 50, // the half cent of clu_stranger, and all of clu_brief
			compute_points: 1000 * 2, // verified RTX 4090s: weight 1.0, rented time × 2
		});
		// The row, its leaf and its proof say so; the leaf is hashed with encoding 3 and proves against the root.
		const { body: b } = await callJson<{
			inputs: Record<string, number>;
			terms: { counted_gpu_seconds: number; compute_points: number };
			formula: Record<string, string>;
		}>(`/v1/nodes/${node.id}/points?epoch=${n}`);
		expect(b.inputs).toMatchObject({
			rented_gpu_seconds: 2900,
			self_rented_gpu_seconds: 1800,
			unpaid_gpu_seconds: 100,
		});
		expect(b.terms).toMatchObject({ counted_gpu_seconds: 1000, compute_points: 2000 });
		expect(b.formula.compute).toMatch(/^floor\(counted_gpu_seconds/);
		const { body: proof } = await callJson<{ leaf: LeafRow; leaf_hash: string; proof: ProofStep[] }>(
			`/v1/epochs/${n}/proof/${node.id}`,
		);
		expect(proof.leaf).toMatchObject({ leaf_version: 3, self_rented_gpu_seconds: 1800, unpaid_gpu_seconds: 100 });
		expect(await leafHash(proof.leaf)).toBe(r.leaf);
		const { body: epoch } = await callJson<{ root: string }>(`/v1/epochs/${n}`);
		expect(await verifyProof(proof.leaf, proof.proof, epoch.root)).toBe(true);
	});
});
