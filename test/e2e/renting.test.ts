// Renting end to end: real agents are assigned work, one is killed mid-job and replaced, the renter is refunded.
import { afterAll, describe, expect, it } from "vitest";
import {
	api,
	coordinator,
	newAccount,
	nodeStatus,
	startAgent,
	until,
	type Coordinator,
	type RunningAgent,
} from "./support.ts";

const agents: RunningAgent[] = [];
let c: Coordinator | undefined;

afterAll(async () => {
	for (const a of agents) if (a.process.exitCode === null && a.process.signalCode === null) a.signal("SIGTERM");
	await Promise.all(agents.map((a) => a.exited));
	await c?.stop();
});

interface ClusterView {
	id: string;
	status: string;
	hold_cents: number;
	charged_cents: number;
	refunded_cents: number;
	nodes: { node_id: string; state: string }[];
	events: { kind: string }[];
}

describe("a rented cluster with real agents", () => {
	it("assigns agents, replaces a killed one, and on terminate releases all and refunds the rest", async () => {
		c = await coordinator();
		const operator = await newAccount(c, "operator");
		for (let i = 0; i < 3; i++) agents.push(await startAgent(c, operator, `rig-${i}`));
		for (const a of agents)
			await until(`${a.nodeId} online`, async () => (await nodeStatus(c as Coordinator, a.nodeId)) === "online");

		const renter = await newAccount(c, "renter");
		const me = await api<{ account: { id: string } }>(c, "/v1/me", { auth: renter });
		expect(
			(
				await api(c, "/v1/admin/credits", {
					auth: c.adminToken,
					body: { account_id: me.body.account.id, amount_cents: 50_000 },
				})
			).status,
		).toBe(201);
		const deployed = await api<{ cluster: ClusterView }>(c, "/v1/clusters", {
			auth: renter,
			body: { gpu_model: "RTX 4090", gpu_count: 2, hours: 1 },
		});
		expect(deployed.status).toBe(201);
		const id = deployed.body.cluster.id;
		const members = agents.filter((a) => deployed.body.cluster.nodes.some((n) => n.node_id === a.nodeId));
		expect(members).toHaveLength(2);
		for (const m of members) expect((await m.waitFor("ready")).cluster_id).toBe(id);
		const view = async () =>
			(await api<{ cluster: ClusterView }>(c as Coordinator, `/v1/clusters/${id}`, { auth: renter })).body.cluster;
		await until("cluster running", async () => (await view()).status === "running");

		const victim = members[0] as RunningAgent;
		victim.signal("SIGKILL"); // the machine dies mid-job
		const spare = agents.find((a) => !members.includes(a)) as RunningAgent;
		expect((await spare.waitFor("ready")).cluster_id).toBe(id);
		await until("replacement running", async () => {
			const v = await view();
			return (
				v.status === "running" &&
				v.nodes.find((n) => n.node_id === victim.nodeId)?.state === "lost" &&
				v.nodes.find((n) => n.node_id === spare.nodeId)?.state === "ready"
			);
		});

		const done = await api<{ cluster: ClusterView }>(c, `/v1/clusters/${id}`, { method: "DELETE", auth: renter });
		expect(done.body.cluster.status).toBe("terminated");
		for (const a of [members[1] as RunningAgent, spare]) expect((await a.waitFor("release")).cluster_id).toBe(id);
		expect(done.body.cluster.charged_cents + done.body.cluster.refunded_cents).toBe(done.body.cluster.hold_cents);
		const billing = await api<{ available_cents: number; held_cents: number; entries: { kind: string }[] }>(
			c,
			"/v1/billing",
			{ auth: renter },
		);
		expect(billing.body.held_cents).toBe(0);
		expect(billing.body.available_cents).toBe(50_000 - done.body.cluster.charged_cents);
		expect(billing.body.entries.map((e) => e.kind)).toEqual(expect.arrayContaining(["grant", "hold", "refund"]));
	});
});
