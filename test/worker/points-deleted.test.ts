// A deleted node's settled history: the ledger is public and a settled row never changes, so a node deleted after it
// earned points keeps both its Merkle proof and its breakdown, marked deleted; a node with no row is unknown.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { EpochRow } from "../../workers/db/epochs.ts";
import { call, callJson, newAccount, registerNode } from "./helpers.ts";

const H = 3600_000;
const settler = () => env.SETTLER.getByName("global");

async function openEpoch(): Promise<EpochRow> {
	return (await env.DB.prepare("SELECT * FROM epochs WHERE ended_at IS NULL").first<EpochRow>()) as EpochRow;
}

beforeAll(async () => {
	await settler().tick(Date.now()); // epoch 1 starts now
});

describe("a deleted node", () => {
	it("stays provable and its settled breakdown readable, marked deleted", async () => {
		const owner = await newAccount("leaver");
		const node = await registerNode(owner);
		const e = await openEpoch();
		await env.DB.prepare(
			"INSERT INTO online_intervals (node_id, started_at, ended_at, end_reason) VALUES (?, ?, ?, 'disconnected')",
		)
			.bind(node.id, e.started_at, e.started_at + H / 2)
			.run();
		await settler().settleNow(e.started_at + H, {});
		const never = await registerNode(owner); // registered after the settlement, deleted before it had a row

		const live = await callJson<{ points: number; node_deleted_at: string | null }>(
			`/v1/nodes/${node.id}/points?epoch=${e.n}`,
		);
		expect(live.status, JSON.stringify(live.body)).toBe(200);
		expect(live.body.node_deleted_at).toBeNull();

		for (const n of [node, never]) {
			expect((await call(`/v1/nodes/${n.id}`, { method: "DELETE", auth: owner.key })).status).toBe(204);
		}
		const proof = await callJson<{ leaf: { node_id: string; points: number } }>(`/v1/epochs/${e.n}/proof/${node.id}`);
		expect(proof.status).toBe(200);
		const points = await callJson<{
			node_id: string;
			points: number;
			leaf_hash: string;
			node_deleted_at: string | null;
		}>(`/v1/nodes/${node.id}/points?epoch=${e.n}`);
		expect(points.status).toBe(200);
		expect(points.body.node_id).toBe(node.id);
		expect(points.body.points).toBe(proof.body.leaf.points);
		expect(points.body.points).toBe(live.body.points);
		expect(points.body.node_deleted_at).toMatch(/^\d{4}-\d\d-\d\dT/);
		// The default epoch (the newest settled) reads the same row.
		expect((await callJson(`/v1/nodes/${node.id}/points`)).status).toBe(200);

		// The node itself is gone from the node routes; a deleted node with no row is as unknown as a made-up id.
		expect((await call(`/v1/nodes/${node.id}`)).status).toBe(404);
		for (const path of [`/v1/nodes/${never.id}/points`, `/v1/nodes/node_nobodyhasthis/points`]) {
			expect((await callJson(path)).status, path).toBe(404);
		}
		// Settled without it: the deleted node's row in an epoch it was not in is a 404 on both routes.
		const next = await openEpoch();
		await settler().settleNow(next.started_at + H, {});
		expect((await call(`/v1/epochs/${next.n}/proof/${node.id}`)).status).toBe(404);
		expect((await call(`/v1/nodes/${node.id}/points?epoch=${next.n}`)).status).toBe(404);
	});
});
