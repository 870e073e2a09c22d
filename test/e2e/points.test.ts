// Points end to end: real agents, a real coordinator, settled epochs, and rows the agent verifies itself.
import { afterEach, describe, expect, it } from "vitest";
import { computePoints } from "../../workers/domain/points.ts";
import {
	agentCommand,
	api,
	coordinator,
	nodeStatus,
	startAgent,
	newAccount,
	until,
	type Coordinator,
	type RunningAgent,
} from "./support.ts";

let c: Coordinator | undefined;
const agents: RunningAgent[] = [];

afterEach(async () => {
	for (const a of agents.splice(0)) {
		a.signal("SIGTERM");
		await a.exited;
	}
	await c?.stop();
	c = undefined;
});

interface Breakdown {
	points: number;
	inputs: {
		online_seconds: number;
		incident_seconds: number;
		gpu_model: string;
		gpu_count: number;
		verified: boolean;
		probation: boolean;
		address_share_bp: number;
		bandwidth_factor_bp: number;
		challenges: { issued: number; passed: number; failed: number; missed: number };
	};
}

async function settle(co: Coordinator): Promise<number> {
	const { status, body } = await api<{ epoch: number }>(co, "/v1/admin/epochs/settle", {
		body: {},
		auth: co.adminToken,
	});
	expect(status).toBe(200);
	return body.epoch;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("points with real agents", () => {
	it("pays an agent online for part of an epoch what the documented formula gives, and its row verifies", async () => {
		c = await coordinator();
		await settle(c); // epoch 1 ends; the test's epoch starts now
		const agent = await startAgent(c, await newAccount(c), "rig-points");
		agents.push(agent);
		await agent.waitFor("challenge_result");
		// Long enough to earn points unverified: one GPU at the lowest weight, 0.15 × 0.9 of a point a second.
		await sleep(10_000);
		agent.signal("SIGTERM");
		await agent.exited;
		agents.pop();
		await until("offline", async () => (await nodeStatus(c as Coordinator, agent.nodeId)) === "offline");
		await sleep(1000); // offline for a while too: the epoch has both
		const epoch = await settle(c);

		const { body: b } = await api<Breakdown>(c, `/v1/nodes/${agent.nodeId}/points?epoch=${epoch}`);
		const { body: e } = await api<{ started_at: string; ended_at: string }>(c, `/v1/epochs/${epoch}`);
		const epochSeconds = (Date.parse(e.ended_at) - Date.parse(e.started_at)) / 1000;
		expect(b.inputs.online_seconds).toBeGreaterThanOrEqual(3);
		expect(b.inputs.online_seconds).toBeLessThan(epochSeconds);
		expect(b.inputs.challenges.passed).toBeGreaterThanOrEqual(1);
		expect(b.inputs).toMatchObject({ probation: false, address_share_bp: 10000 }); // PROBATION_S is 0 here
		const expected = computePoints({ ...b.inputs, rented_gpu_seconds: 0, penalties: [] });
		expect(b.points).toBe(expected.points);
		expect(b.points).toBeGreaterThan(0);

		const verify = agentCommand(agent.config, ["points", "--epoch", String(epoch), "--verify"]);
		expect(verify.stdout).toMatch(/verified\s+row is in epoch/);
		expect(verify.code).toBe(0);
	});

	it("loses no accrued seconds when the coordinator crashes and restarts inside an epoch", async () => {
		c = await coordinator({ vars: { INCIDENT_MIN_NODES: "1" } });
		const agent = await startAgent(c, await newAccount(c), "rig-restart");
		agents.push(agent);
		await agent.waitFor("welcome");
		await until("online", async () => (await nodeStatus(c as Coordinator, agent.nodeId)) === "online");
		await settle(c); // the measured epoch starts with the node already online
		await sleep(2500); // let a checkpoint record the shard's clock
		const { port, persistDir, adminToken } = c;
		await c.stop("SIGKILL");
		c = await coordinator({ port, persistDir, vars: { ADMIN_TOKEN: adminToken, INCIDENT_MIN_NODES: "1" } });
		await agent.waitFor("welcome", 2);
		await until("online again", async () => (await nodeStatus(c as Coordinator, agent.nodeId)) === "online");
		await sleep(2000);
		const epoch = await settle(c);

		const { body: b } = await api<Breakdown>(c, `/v1/nodes/${agent.nodeId}/points?epoch=${epoch}`);
		const { body: e } = await api<{ started_at: string; ended_at: string }>(c, `/v1/epochs/${epoch}`);
		const epochSeconds = Math.floor((Date.parse(e.ended_at) - Date.parse(e.started_at)) / 1000);
		// Online the whole epoch except our own outage, which is credited: nothing accrued was lost.
		expect(b.inputs.online_seconds + b.inputs.incident_seconds).toBeGreaterThanOrEqual(epochSeconds - 1);
	});
});
