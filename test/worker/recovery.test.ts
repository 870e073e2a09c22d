// Coordinator-side failures: mass drops become incidents, and a shard restart loses no history.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	OFFLINE_AFTER_MS,
	backdated,
	callJson,
	connect,
	eventually,
	type Link,
	newAccount,
	nodeFlips,
	nodeStatus,
	ping,
	registerNode,
	stopClock,
	sweepAt,
	type TestNode,
} from "./helpers.ts";

async function fleet(region: string, n: number): Promise<{ nodes: TestNode[]; links: Link[] }> {
	const owner = await newAccount();
	const nodes: TestNode[] = [];
	for (let i = 0; i < n; i++) nodes.push(await registerNode(owner, { region }));
	const links = await Promise.all(nodes.map((node) => connect(node)));
	await Promise.all(links.map((l) => l.next("welcome")));
	return { nodes, links };
}

describe("coordinator incidents", () => {
	it("records a mass drop as one incident and stamps it on every flip of that drop", async () => {
		const { nodes, links } = await fleet("massdrop", 4);
		for (const l of links) l.ws.close(1001, "network gone");
		await eventually(async () => (await Promise.all(nodes.map(nodeStatus))).every((s) => s === "offline"));
		await runDurableObjectAlarm(env.LIVENESS.getByName("massdrop-0"));
		const { body } = await callJson<{
			incidents: { id: string; reason: string; scope: string; nodes_affected: number }[];
		}>("/v1/incidents");
		const incident = body.incidents.find((i) => i.scope === "shard:massdrop-0");
		expect(incident).toMatchObject({ reason: "mass_drop", nodes_affected: 4 });
		for (const node of nodes)
			expect((await nodeFlips(node))[0]).toMatchObject({ to: "offline", incident_id: incident?.id });
	});

	it("does not call one node's drop an incident", async () => {
		const { nodes, links } = await fleet("single", 4);
		links[0]?.ws.close(1001);
		await eventually(async () => (await nodeStatus(nodes[0] as TestNode)) === "offline");
		await runDurableObjectAlarm(env.LIVENESS.getByName("single-0"));
		expect((await nodeFlips(nodes[0] as TestNode))[0]?.incident_id).toBeNull();
	});

	it("never counts nodes that said bye toward an incident", async () => {
		const { nodes, links } = await fleet("byes", 4);
		for (const l of links) l.ws.send(JSON.stringify({ type: "bye" }));
		await eventually(async () => (await Promise.all(nodes.map(nodeStatus))).every((s) => s === "offline"));
		await runDurableObjectAlarm(env.LIVENESS.getByName("byes-0"));
		for (const node of nodes)
			expect((await nodeFlips(node))[0]).toMatchObject({ to: "offline", reason: "disconnected", incident_id: null });
	});
});

describe("shard restart", () => {
	it(
		"keeps nodes that reconnect within the grace period online, " + "and marks the rest offline as our incident",
		async () => {
			const { nodes } = await fleet("restart", 4);
			const stub = env.LIVENESS.getByName("restart-0");
			await runDurableObjectAlarm(stub); // checkpoint
			await evictDurableObject(stub, { webSockets: "close" }); // the process holding the sockets is gone
			const clock = await stopClock(stub); // the shard starts again
			const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
			const back = await Promise.all([connect(a), connect(b)]);
			await Promise.all(back.map((l) => l.next("welcome")));
			await sweepAt(stub, clock.at + OFFLINE_AFTER_MS); // OFFLINE_AFTER_S of grace later
			for (const n of [a, b]) {
				expect(await nodeStatus(n)).toBe("online");
				expect((await nodeFlips(n)).map((f) => f.reason)).toEqual(["connected"]);
			}
			const { body } = await callJson<{ incidents: { id: string; reason: string; scope: string }[] }>("/v1/incidents");
			const incident = body.incidents.find((i) => i.scope === "shard:restart-0");
			expect(incident?.reason).toBe("coordinator_restart");
			for (const n of [c, d]) {
				expect(await nodeStatus(n)).toBe("offline");
				expect((await nodeFlips(n))[0]).toMatchObject({ reason: "coordinator_restart", incident_id: incident?.id });
			}
			const uptime = await callJson<{ intervals: { ended_at: string | null }[] }>(`/v1/nodes/${a.id}/uptime`);
			expect(uptime.body.intervals).toHaveLength(1);
			expect(uptime.body.intervals[0]?.ended_at).toBeNull();
		},
	);

	it("ends a lost node's interval at its last keepalive the checkpoint recorded, not at its connect", async () => {
		const stub = env.LIVENESS.getByName("restartinterval-0");
		// Connected 2.5 s ago: online well past its connect, and past CHECKPOINT_S (1 s in the tests).
		const { nodes, links } = await backdated(stub, 2500, () => fleet("restartinterval", 1));
		const [node] = nodes as [TestNode];
		const beforePing = Date.now();
		await ping(links[0] as Link); // a keepalive, answered by the runtime: the last time the node is heard
		const afterPong = Date.now();
		await runDurableObjectAlarm(stub); // sweeps (the node is alive) and checkpoints its last keepalive
		await evictDurableObject(stub, { webSockets: "close" });
		await stub.wake(Date.now()); // the shard starts again (as the cron would wake it)
		await sweepAt(stub, Date.now() + OFFLINE_AFTER_MS + 500); // OFFLINE_AFTER_S of grace later; the node is not back
		const { body } = await callJson<{ intervals: { started_at: string; ended_at: string | null }[] }>(
			`/v1/nodes/${node.id}/uptime`,
		);
		expect(body.intervals).toHaveLength(1);
		const ended = Date.parse(body.intervals[0]?.ended_at ?? "");
		expect(ended).toBeGreaterThanOrEqual(beforePing);
		expect(ended).toBeLessThanOrEqual(afterPong);
		const [flip] = await nodeFlips(node);
		expect(flip).toMatchObject({ reason: "coordinator_restart" });
		expect(Date.parse(flip?.last_seen_at ?? "")).toBe(ended); // last seen = when it was last heard, to the ms
	});

	it("records a restart that lost sockets as our incident however few, on the node that stayed away", async () => {
		const { nodes } = await fleet("smallrestart", 2); // INCIDENT_MIN_NODES is 3 in the tests
		const stub = env.LIVENESS.getByName("smallrestart-0");
		await runDurableObjectAlarm(stub); // checkpoint
		await evictDurableObject(stub, { webSockets: "close" });
		const clock = await stopClock(stub); // the shard starts again
		const [a, b] = nodes as [TestNode, TestNode];
		const back = await connect(a);
		await back.next("welcome");
		await sweepAt(stub, clock.at + OFFLINE_AFTER_MS); // OFFLINE_AFTER_S of grace later
		expect(await nodeStatus(a)).toBe("online");
		expect((await nodeFlips(a)).length).toBe(1); // a came back in time: its interval never broke
		back.ws.send(JSON.stringify({ type: "bye" })); // so that the next sweep finds no silent socket to drop
		await eventually(async () => (await nodeStatus(a)) === "offline");
		await sweepAt(stub, clock.at + OFFLINE_AFTER_MS + 10_000); // drops have stopped for a window: it closes
		const { body } = await callJson<{
			incidents: { id: string; reason: string; scope: string; nodes_affected: number; ended_at: string | null }[];
		}>("/v1/incidents");
		const incident = body.incidents.find((i) => i.scope === "shard:smallrestart-0");
		expect(incident).toMatchObject({ reason: "coordinator_restart", nodes_affected: 2 }); // both sockets were lost
		expect(incident?.ended_at).not.toBeNull();
		expect(await nodeStatus(b)).toBe("offline");
		expect((await nodeFlips(b))[0]).toMatchObject({ reason: "coordinator_restart", incident_id: incident?.id });
	});

	it("does not stamp a restart's incident on a node's own disconnect while it is open", async () => {
		const { nodes } = await fleet("ownafter", 2);
		const stub = env.LIVENESS.getByName("ownafter-0");
		await runDurableObjectAlarm(stub); // checkpoint
		await evictDurableObject(stub, { webSockets: "close" });
		const [a, b] = nodes as [TestNode, TestNode];
		const back = await connect(a);
		await back.next("welcome");
		await (await connect(b)).next("welcome");
		back.ws.close(1001, "my own router"); // unannounced, the node's own doing, during the restart's grace
		await eventually(async () => (await nodeStatus(a)) === "offline");
		const [flip] = await nodeFlips(a);
		expect(flip).toMatchObject({ to: "offline", reason: "disconnected", incident_id: null });
	});

	it("ends an incident a crash left open when the shard restarts again", async () => {
		await fleet("twice", 2);
		const stub = env.LIVENESS.getByName("twice-0");
		await runDurableObjectAlarm(stub); // checkpoint
		await evictDurableObject(stub, { webSockets: "close" });
		await stub.wake(Date.now()); // restart 1: its incident opens; the nodes are not back yet
		await evictDurableObject(stub, { webSockets: "close" });
		await stub.wake(Date.now()); // restart 2, inside the first one's grace
		await runDurableObjectAlarm(stub); // flushes the records
		const { body } = await callJson<{ incidents: { scope: string; started_at: string; ended_at: string | null }[] }>(
			"/v1/incidents",
		);
		const mine = body.incidents.filter((i) => i.scope === "shard:twice-0");
		expect(mine).toHaveLength(2);
		const first = mine.reduce((x, y) => (x.started_at <= y.started_at ? x : y));
		expect(first.ended_at).not.toBeNull(); // it ended when the instance holding it stopped
	});

	it("records a restart's incident even when every node came back in time", async () => {
		const { nodes } = await fleet("allback", 2);
		const stub = env.LIVENESS.getByName("allback-0");
		await runDurableObjectAlarm(stub); // checkpoint
		await evictDurableObject(stub, { webSockets: "close" });
		const clock = await stopClock(stub);
		for (const node of nodes) await (await connect(node)).next("welcome");
		await sweepAt(stub, clock.at + OFFLINE_AFTER_MS);
		const { body } = await callJson<{ incidents: { reason: string; scope: string; nodes_affected: number }[] }>(
			"/v1/incidents",
		);
		expect(body.incidents.filter((i) => i.scope === "shard:allback-0")).toEqual([
			expect.objectContaining({ reason: "coordinator_restart", nodes_affected: 2 }),
		]);
		for (const node of nodes) expect(await nodeStatus(node)).toBe("online");
	});
});
