// The bandwidth tier end to end: a real agent process uploads and downloads through a started coordinator, which times
// every transfer itself, and the node's tier becomes measured in the API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, coordinator, newAccount, startAgent, type Coordinator } from "./support.ts";

let c: Coordinator;

beforeAll(async () => {
	// A small compute challenge, so the verification the agent runs on connecting ends quickly (the measurement waits
	// for it).
	c = await coordinator({ vars: { VERIFY_SHAPE: "256x512x64" } });
});

afterAll(async () => {
	await c?.stop();
});

interface Bandwidth {
	tier: string;
	up_mbps: number | null;
	down_mbps: number | null;
	samples: { up: number; down: number };
	measured_at: string | null;
}

describe("bandwidth tier with a real agent", () => {
	it("is measured after the agent's 4 uploads and 4 downloads, as the coordinator timed them", async () => {
		const key = await newAccount(c);
		const agent = await startAgent(c, key, "rig-bandwidth", []); // bandwidth on: the CLI's default
		const before = await api<{ node: { hardware: { bandwidth: Bandwidth } } }>(c, `/v1/nodes/${agent.nodeId}`);
		expect(before.body.node.hardware.bandwidth.tier).toBe("unmeasured");

		const start = await agent.waitFor("bandwidth_start", 1, 120_000);
		const result = await agent.waitFor("bandwidth_result", 1, 120_000);
		expect(agent.events.filter((e) => e.event === "bandwidth_error")).toEqual([]);
		expect(agent.events.filter((e) => e.event === "bandwidth_sample")).toHaveLength(8);
		const took = Date.parse(result.at as string) - Date.parse(start.at as string);
		console.log(`bandwidth: 4 uploads + 4 downloads took ${took} ms; ${JSON.stringify(result)}`);

		const { body } = await api<{ node: { hardware: { bandwidth: Bandwidth } } }>(c, `/v1/nodes/${agent.nodeId}`);
		const b = body.node.hardware.bandwidth;
		expect(b.tier).not.toBe("unmeasured");
		expect(b.tier).toBe(result.tier);
		expect(b.samples).toEqual({ up: 4, down: 4 });
		expect(b.up_mbps).toBeGreaterThan(0);
		expect(b.down_mbps).toBeGreaterThan(0);
		const mine = await api<{ nodes: { hardware: { bandwidth: Bandwidth } }[] }>(c, "/v1/nodes", { auth: key });
		expect(mine.body.nodes[0]?.hardware.bandwidth).toEqual(b);

		agent.signal("SIGINT");
		expect(await agent.exited).toBe(0);
	});
});
