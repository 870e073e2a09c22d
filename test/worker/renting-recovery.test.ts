// Multi-step changes that fail half-way are completed by the next try: no notice lost, no hold or node stranded.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callJson, eventually, grant, newAccount, onlineFleet } from "./helpers.ts";

/** A renter with credits and a cluster of healthy agents that is running. */
async function running(gpuModel: string, gpuCount: number, nodes = gpuCount) {
	const f = await onlineFleet(nodes, { gpu_model: gpuModel });
	const renter = await newAccount("renter");
	await grant(renter.id, 1_000_000);
	const res = await callJson<{ cluster: { id: string; nodes: { node_id: string }[] } }>("/v1/clusters", { auth: renter.key, body: { gpu_model: gpuModel, gpu_count: gpuCount, hours: 1 } });
	expect(res.status).toBe(201);
	const stub = env.CLUSTERS.getByName(res.body.cluster.id);
	await eventually(async () => (await stub.view())?.status === "running");
	return { ...f, renter, stub, id: res.body.cluster.id, members: res.body.cluster.nodes.map((n) => n.node_id) };
}

describe("a lost node's notice", () => {
	it("is delivered again by the shard's retry when the cluster could not take it the first time", async () => {
		const { stub, members, stopAll } = await running("RTX 3090", 1);
		// The cluster's storage fails once (its state cannot be read), then recovers.
		const saved = await runInDurableObject(stub, (_, state) => {
			const v = state.storage.sql.exec("SELECT v FROM state").one().v;
			state.storage.sql.exec("UPDATE state SET v = 'unreadable'");
			return v;
		});
		const change = { nodeId: members[0] as string, to: "offline", seq: 1e9, at: Date.now() };
		const scheduler = env.SCHEDULER.getByName("global");
		const err = await scheduler.onChanges([change]).then(() => null, (e: unknown) => e);
		expect(err).toBeInstanceOf(Error);
		await runInDurableObject(stub, (_, state) => void state.storage.sql.exec("UPDATE state SET v = ?", saved));
		await scheduler.onChanges([change]); // the shard's outbox keeps the change and sends it again
		expect((await stub.view())?.nodes.find((n) => n.node_id === members[0])?.state).toBe("lost");
		stopAll();
	});
});
