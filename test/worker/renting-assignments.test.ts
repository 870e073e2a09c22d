// A node's assignments as its shard keeps them: `ready` reaches only a cluster that assigned the node, and an
// assignment is told again when the node reconnects, until the cluster releases it (issue 12, items 8 and 10).
import { evictDurableObject, listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ACK_TIMEOUT_MS, RETRY_MS } from "../../durable-objects/Cluster.ts";
import {
	callJson,
	connect,
	eventually,
	grant,
	keepAlive,
	type Link,
	newAccount,
	registerNode,
	HARDWARE,
	shardOf,
} from "./helpers.ts";

const MODEL = "RTX 3090";

/** Sends a message the coordinator cannot read and waits for its error: every message sent before it has arrived. */
async function settled(link: Link): Promise<void> {
	const before = link.messages.filter((m) => m.type === "error").length;
	link.ws.send("{}");
	await eventually(async () => link.messages.filter((m) => m.type === "error").length > before);
}

async function clusterStatus(
	key: string,
	id: string,
): Promise<{ status: string; nodes: { node_id: string; state: string }[] }> {
	return (
		await callJson<{ cluster: { status: string; nodes: { node_id: string; state: string }[] } }>(`/v1/clusters/${id}`, {
			auth: key,
		})
	).body.cluster;
}

async function rig() {
	const owner = await newAccount("operator");
	const node = await registerNode(owner, { hardware: { ...HARDWARE, gpu_model: MODEL, gpu_count: 1 } });
	const link = await connect(node);
	await link.next("welcome");
	return { owner, node, link, stop: keepAlive(link) };
}

describe("a node's assignments", () => {
	it("refuses a `ready` for a cluster that never assigned the node, creating no Cluster object", async () => {
		const { link, stop } = await rig();
		const before = (await listDurableObjectIds(env.CLUSTERS)).length;
		for (let i = 0; i < 5; i++) link.ws.send(JSON.stringify({ type: "ready", cluster_id: `clu_madeUp${i}xxxxxxxx` }));
		await eventually(async () => link.messages.filter((m) => m.code === "not_assigned").length === 5);
		expect(link.messages.find((m) => m.code === "not_assigned")).toMatchObject({ type: "error" });
		expect((await listDurableObjectIds(env.CLUSTERS)).length).toBe(before);
		stop();
	});

	it("tells a member its assignment again when it reconnects, and its `ready` then starts the cluster", async () => {
		const { node, link, stop } = await rig();
		const renter = await newAccount("renter");
		await grant(renter.id, 100_000);
		const { status, body } = await callJson<{ cluster: { id: string } }>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: MODEL, gpu_count: 1, hours: 1 },
		});
		expect(status).toBe(201);
		const id = body.cluster.id;
		expect(await link.next("assign")).toMatchObject({ cluster_id: id });
		// The coordinator restarts before the agent says `ready`: the assignment went with the socket, and the node is
		// still a member (it has the restart's grace to come back).
		stop();
		await evictDurableObject(await shardOf(node), { webSockets: "close" });
		await link.closed;
		const again = await connect(node);
		await again.next("welcome");
		const stopAgain = keepAlive(again);
		expect(await again.next("assign")).toMatchObject({ type: "assign", cluster_id: id, gpu_count: 1 });
		again.ws.send(JSON.stringify({ type: "ready", cluster_id: id }));
		await eventually(async () => (await clusterStatus(renter.key, id)).status === "running");
		expect(again.messages.filter((m) => m.code === "not_assigned")).toEqual([]);

		// Once the cluster releases the node, a new connection is told nothing, and `ready` for it is refused.
		expect((await callJson(`/v1/clusters/${id}`, { auth: renter.key, method: "DELETE" })).status).toBe(200);
		await again.next("release");
		stopAgain();
		again.ws.close(1000, "bye");
		await again.closed;
		const third = await connect(node);
		await third.next("welcome");
		await settled(third);
		expect(third.messages.filter((m) => m.type === "assign")).toEqual([]);
		third.ws.send(JSON.stringify({ type: "ready", cluster_id: id }));
		await eventually(async () => third.messages.some((m) => m.code === "not_assigned"));
		expect((await clusterStatus(renter.key, id)).status).toBe("terminated");
	});

	it("tells a member that has not answered again at each alarm until its ack timeout, then drops it", async () => {
		const { node, link, stop } = await rig();
		const renter = await newAccount("renter");
		await grant(renter.id, 100_000);
		const res = await callJson<{ cluster: { id: string } }>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: MODEL, gpu_count: 1, hours: 1 },
		});
		const id = res.body.cluster.id;
		const stub = env.CLUSTERS.getByName(id);
		await link.next("assign");
		const assigned = Date.now();
		await stub.tick(assigned + RETRY_MS); // no `ready` yet: the assignment is sent again
		expect(await link.next("assign")).toMatchObject({ cluster_id: id });
		await stub.tick(assigned + ACK_TIMEOUT_MS); // never answered: dropped, told to release, not told again
		await link.next("release");
		await settled(link);
		expect(link.messages.filter((m) => m.type === "assign")).toHaveLength(2);
		const members = (await clusterStatus(renter.key, id)).nodes;
		expect(members.find((n) => n.node_id === node.id)?.state).toBe("lost");
		stop();
	});
});
