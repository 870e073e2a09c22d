// A new user's path, end to end: a real coordinator (wrangler dev) and real agent processes.
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	agentCommand,
	api,
	coordinator,
	flips,
	newAccount,
	nodeStatus,
	RunningAgent,
	startAgent,
	until,
	type Coordinator,
	type NodeView,
} from "./support.ts";

let c: Coordinator;

beforeAll(async () => {
	c = await coordinator();
});

afterAll(async () => {
	await c?.stop();
});

describe("a node's life, with real agents", () => {
	it("registers with the agent, shows online, and goes offline at once on Ctrl-C", async () => {
		const key = await newAccount(c);
		const agent = await startAgent(c, key, "rig-ctrl-c");
		await agent.waitFor("welcome");
		await until("node online", async () => (await nodeStatus(c, agent.nodeId)) === "online");
		const mine = await api<{ nodes: NodeView[] }>(c, "/v1/nodes", { auth: key });
		expect(mine.body.nodes).toEqual([expect.objectContaining({ id: agent.nodeId, status: "online" })]);
		expect(mine.body.nodes[0]?.last_seen_at).not.toBeNull();

		agent.signal("SIGINT");
		expect(await agent.exited).toBe(0);
		await until("node offline", async () => (await nodeStatus(c, agent.nodeId)) === "offline");
		expect((await flips(c, agent.nodeId)).map((f) => `${f.from}>${f.to}:${f.reason}`)).toEqual([
			"online>offline:disconnected",
			"new>online:connected",
		]);
		const status = agentCommand(agent.config, ["status", "--json"]);
		expect(status.code).toBe(0);
		expect(JSON.parse(status.stdout)).toMatchObject({ node: { id: agent.nodeId, status: "offline" } });
	});

	it("rotates its key with `rotate-key`: the coordinator holds the new one, `run` connects with it", async () => {
		const key = await newAccount(c);
		const agent = await startAgent(c, key, "rig-rotate");
		await agent.waitFor("welcome");
		agent.signal("SIGINT");
		expect(await agent.exited).toBe(0);
		const old = `${agent.config}.old`;
		copyFileSync(agent.config, old);
		const publicKey = (path: string) => (JSON.parse(readFileSync(path, "utf8")) as { public_key: string }).public_key;

		const rotated = agentCommand(agent.config, ["rotate-key"]);
		expect(rotated.code, rotated.stderr).toBe(0);
		expect(publicKey(agent.config)).not.toBe(publicKey(old));
		expect(existsSync(`${agent.config}.rotating`)).toBe(false);
		const node = await api<{ node: { public_key: string } }>(c, `/v1/nodes/${agent.nodeId}`, { auth: key });
		expect(node.body.node.public_key).toBe(publicKey(agent.config));

		const back = new RunningAgent(agent.config, agent.nodeId);
		await back.waitFor("welcome");
		back.signal("SIGINT");
		expect(await back.exited).toBe(0);
		// The old key signs nothing any more: a rotation from the old config is refused, and leaves nothing behind.
		const stale = agentCommand(old, ["rotate-key"]);
		expect(stale.code).toBe(1);
		expect(stale.stderr).toMatch(/coordinator answered 401/);
		expect(existsSync(`${old}.rotating`)).toBe(false);
	});

	it("marks a frozen agent (silent, socket left open) offline, and online again when it wakes", async () => {
		const agent = await startAgent(c, await newAccount(c), "rig-frozen");
		await agent.waitFor("welcome");
		await until("node online", async () => (await nodeStatus(c, agent.nodeId)) === "online");
		agent.signal("SIGSTOP"); // the process stops answering; its socket stays open
		try {
			await until("node offline after silence", async () => (await nodeStatus(c, agent.nodeId)) === "offline");
			const [last] = await flips(c, agent.nodeId);
			expect(last).toMatchObject({ from: "online", to: "offline", reason: "keepalive_timeout", incident_id: null });
		} finally {
			agent.signal("SIGCONT");
		}
		await agent.waitFor("welcome", 2);
		await until("node back online", async () => (await nodeStatus(c, agent.nodeId)) === "online");
		agent.signal("SIGTERM");
		expect(await agent.exited).toBe(0);
	});

	it("answers availability challenges, and the coordinator counts them passed", async () => {
		const agent = await startAgent(c, await newAccount(c), "rig-challenged");
		const result = await agent.waitFor("challenge_result");
		expect(result.passed).toBe(true);
		await until("a passed challenge on the node", async () => {
			const { body } = await api<{ node: { challenges: { passed: number } | null } }>(c, `/v1/nodes/${agent.nodeId}`);
			return (body.node.challenges?.passed ?? 0) >= 1;
		});
		agent.signal("SIGTERM");
		await agent.exited;
	});

	it("counts online nodes and GPUs by model in /v1/stats", async () => {
		const agent = await startAgent(c, await newAccount(c), "rig-stats");
		await agent.waitFor("welcome");
		await until("node online", async () => (await nodeStatus(c, agent.nodeId)) === "online");
		const { body } = await api<{
			nodes_online: number;
			gpus_online: number;
			by_model: { gpu_model: string; nodes: number }[];
			definitions: Record<string, string>;
		}>(c, "/v1/stats");
		expect(body.nodes_online).toBeGreaterThanOrEqual(1);
		expect(body.by_model.find((m) => m.gpu_model === "RTX 4090")?.nodes).toBeGreaterThanOrEqual(1);
		expect(Object.keys(body.definitions)).toContain("nodes_online");
		agent.signal("SIGTERM");
		await agent.exited;
	});
});
