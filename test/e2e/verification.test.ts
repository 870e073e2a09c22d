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

	it("challenges two nodes registered together in one round, at one moment, and both real agents pass it", async () => {
		const key = await newAccount(c);
		const agents = [await startAgent(c, key, "rig-round-a"), await startAgent(c, key, "rig-round-b")];
		for (const a of agents) expect(await a.waitFor("verify_result")).toMatchObject({ state: "verified" });
		type Round = { round_id: string; groups: { key: string; node_ids: string[] }[]; nodes: number };
		const started = await api<Round>(c, "/v1/admin/verify-rounds", { method: "POST", auth: c.adminToken });
		const ids = agents.map((a) => a.nodeId).sort();
		// Registered together by one account, and (locally) behind one address: both groups hold the two.
		expect(started.body.groups).toContainEqual({ key: expect.stringMatching(/^reg:acc_/), node_ids: ids });
		for (const a of agents) expect(await a.waitFor("verify_result", 2)).toMatchObject({ state: "verified" });
		type View = { judged_at: string | null; members: { node_id: string; verdict: string | null }[] };
		let judged: View | null = null;
		await until("the round judged", async () => {
			const r = await api<View>(c, `/v1/admin/verify-rounds/${started.body.round_id}`, { auth: c.adminToken });
			judged = r.body.judged_at ? r.body : null;
			return judged !== null;
		});
		if (!judged) throw new Error("unreachable");
		const verdicts = (judged as View).members.filter((m) => ids.includes(m.node_id)).map((m) => m.verdict);
		expect(verdicts).toEqual(["passed", "passed"]);
		for (const a of agents) {
			a.signal("SIGINT");
			expect(await a.exited).toBe(0);
		}
	});
});
