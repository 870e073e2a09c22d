// The coordinator stops and starts again: history survives, agents come back by themselves, and it is our incident.
import { afterAll, describe, expect, it } from "vitest";
import {
	api,
	coordinator,
	flips,
	newAccount,
	nodeStatus,
	startAgent,
	until,
	type Coordinator,
	type RunningAgent,
} from "./support.ts";

const running: RunningAgent[] = [];
let c: Coordinator | undefined;

afterAll(async () => {
	for (const a of running) a.signal("SIGTERM");
	await Promise.all(running.map((a) => a.exited));
	await c?.stop();
});

interface Interval {
	started_at: string;
	ended_at: string | null;
}

describe("coordinator restart", () => {
	it("keeps flips and uptime history, and every agent reconnects by itself", async () => {
		c = await coordinator();
		const key = await newAccount(c);
		for (let i = 0; i < 3; i++) running.push(await startAgent(c, key, `rig-${i}`));
		await Promise.all(running.map((a) => a.waitFor("welcome")));
		for (const a of running)
			await until(`${a.nodeId} online`, async () => (await nodeStatus(c as Coordinator, a.nodeId)) === "online");
		await new Promise((r) => setTimeout(r, 2000)); // let a checkpoint record the shard's clock
		const before = await Promise.all(running.map((a) => flips(c as Coordinator, a.nodeId)));
		const firstStart = (await api<{ intervals: Interval[] }>(c, `/v1/nodes/${running[0]?.nodeId}/uptime`)).body
			.intervals[0]?.started_at;

		const { port, persistDir, adminToken } = c;
		await c.stop("SIGKILL"); // a crash: no chance to close anything cleanly
		await Promise.all(running.map((a) => a.waitFor("disconnected")));
		c = await coordinator({ port, persistDir, vars: { ADMIN_TOKEN: adminToken } });

		await Promise.all(running.map((a) => a.waitFor("welcome", 2)));
		for (const a of running)
			await until(`${a.nodeId} online again`, async () => (await nodeStatus(c as Coordinator, a.nodeId)) === "online");

		for (const [i, a] of running.entries()) {
			const after = await flips(c, a.nodeId);
			// Nothing recorded before the crash was lost…
			expect(after.slice(after.length - (before[i]?.length ?? 0))).toEqual(before[i]);
			// …and any drop the restart caused is attributed to the coordinator, not to the operator.
			for (const f of after.slice(0, after.length - (before[i]?.length ?? 0)).filter((f) => f.to === "offline")) {
				expect(f.reason).toBe("coordinator_restart");
				expect(f.incident_id).toMatch(/^inc_/);
			}
		}
		const uptime = await api<{ intervals: Interval[] }>(c, `/v1/nodes/${running[0]?.nodeId}/uptime`);
		expect(uptime.body.intervals[0]?.started_at).toBe(firstStart);
		expect(uptime.body.intervals.at(-1)?.ended_at).toBeNull();
		await until("the restart recorded as our incident", async () => {
			const { body } = await api<{ incidents: { reason: string; nodes_affected: number }[] }>(
				c as Coordinator,
				"/v1/incidents",
			);
			return body.incidents.some((i) => i.reason === "coordinator_restart" && i.nodes_affected === 3);
		});
	});
});
