// Hardware verification end to end: a real agent process solves the coordinator's compute challenge over its socket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, coordinator, newAccount, startAgent, until, type Coordinator } from "./support.ts";

let c: Coordinator;

beforeAll(async () => {
	// A small shape, so the agent's CPU solver answers in milliseconds whatever the machine's load (docs/VERIFICATION.md).
	c = await coordinator({ vars: { VERIFY_SHAPE: "256x512x64" } });
});

afterAll(async () => {
	await c?.stop();
});

interface Verification {
	state: string;
	tier?: string;
	measured_ms?: number;
	method?: string;
}

describe("hardware verification with a real agent", () => {
	it("is verified after the agent commits, opens and passes the check, and the agent hears it", async () => {
		const key = await newAccount(c);
		const agent = await startAgent(c, key, "rig-verify");
		const result = await agent.waitFor("verify_result");
		expect(result).toMatchObject({ state: "verified" });
		const view = async () =>
			(
				await api<{ node: { hardware: { verified: boolean; verification: Verification } } }>(
					c,
					`/v1/nodes/${agent.nodeId}`,
				)
			).body.node.hardware;
		await until("verified in the API", async () => (await view()).verified);
		expect((await view()).verification).toMatchObject({
			state: "verified",
			tier: "consumer-high",
			method: "matmul-freivalds-v1",
		});
		agent.signal("SIGINT");
		expect(await agent.exited).toBe(0);
	});
});
