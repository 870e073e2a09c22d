// Local time runs: with the cron ticker on (as `npm start` has it), the scheduled handler runs by itself, so epochs
// open at start, close and settle on schedule, and an online node earns points without an admin settling anything.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { api, coordinator, newAccount, startAgent, until, type Coordinator, type RunningAgent } from "./support.ts";

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

interface EpochView {
	epoch: number;
	status: "open" | "closing" | "settled";
	started_at: string;
	ended_at: string | null;
}

/** The first settled epoch in which the node earned points, or null while there is none yet. */
async function paidEpoch(co: Coordinator, nodeId: string): Promise<number | null> {
	for (let n = 1; ; n++) {
		const e = await api<EpochView>(co, `/v1/epochs/${n}`);
		if (e.status !== 200 || e.body.status !== "settled") return null;
		const p = await api<{ points: number }>(co, `/v1/nodes/${nodeId}/points?epoch=${n}`);
		if (p.status === 200 && p.body.points > 0) return n;
	}
}

describe("the local cron ticker", () => {
	it("opens the first epoch at start, then closes and settles epochs on schedule, paying an online node", async () => {
		const before = Date.now();
		// Every 2 s and 10 s epochs, so a few epochs pass in seconds (10 s: an unverified node, paid one GPU at the lowest
		// weight, earns a point in 8 s); production's is every minute and 3600 s.
		c = await coordinator({ cron: ["*/2 * * * * *"], vars: { EPOCH_SECONDS: "10" } });
		const first = await api<EpochView>(c, "/v1/epochs/1");
		expect(first.status).toBe(200); // opened by the handler's run at start, before anyone asked
		expect(Date.parse(first.body.started_at)).toBeGreaterThanOrEqual(before);

		const agent = await startAgent(c, await newAccount(c), "rig-cron");
		agents.push(agent);
		let paid: number | null = null;
		const co = c;
		await until(
			"an epoch settled by the ticker alone that pays the node",
			async () => (paid = await paidEpoch(co, agent.nodeId)) !== null,
			120_000,
		);
		const { body: e } = await api<EpochView>(c, `/v1/epochs/${paid}`);
		expect(Date.parse(e.ended_at as string) - Date.parse(e.started_at)).toBe(10_000); // closed at its boundary

		const lines = readFileSync(c.logFile, "utf8").split("\n");
		expect(lines.filter((l) => l.startsWith('pulsegrid: cron "*/2 * * * * *" at start,'))).toHaveLength(1);
		expect(
			lines.filter((l) => /^pulsegrid: cron "\*\/2 \* \* \* \* \*" fired for \S+: ok/.test(l)).length,
		).toBeGreaterThan(2);
	});
});
