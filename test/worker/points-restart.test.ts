// A coordinator restart across an epoch boundary: the shard holding the sockets is gone and no cron runs while the
// boundary passes and no cron runs; afterwards the cron closes the epoch at its exact boundary and no node loses a second.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EpochRow, LedgerRow } from "../../workers/services/epochs.ts";
import { TEST_ADMIN_TOKEN, callJson, connect, eventually, healthyAgent, newAccount, registerNode, sleep, type TestNode } from "./helpers.ts";

const H = 3600_000;

async function epoch(n: number): Promise<EpochRow> {
	return (await env.DB.prepare("SELECT * FROM epochs WHERE n = ?").bind(n).first<EpochRow>()) as EpochRow;
}

async function row(n: number, node: TestNode): Promise<LedgerRow> {
	return (await env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?").bind(n, node.id).first<LedgerRow>()) as LedgerRow;
}

/** When the node's first recorded online interval began. */
async function cameOnline(node: TestNode): Promise<number> {
	return (await env.DB.prepare("SELECT min(started_at) AS t FROM online_intervals WHERE node_id = ?").bind(node.id).first<{ t: number }>())?.t as number;
}

describe("a coordinator restart across an epoch boundary", () => {
	it("loses no accrued second in the epoch that ended while it was down, nor in the next one", async () => {
		const owner = await newAccount("across");
		const nodes: TestNode[] = [];
		for (let i = 0; i < 4; i++) nodes.push(await registerNode(owner, { region: "across" }));
		let stops = [];
		for (const node of nodes) {
			const link = await connect(node);
			await link.next("welcome");
			stops.push(healthyAgent(link, node));
		}
		const shard = env.LIVENESS.getByName("across-0");
		await eventually(async () => ((await env.DB.prepare("SELECT count(*) AS n FROM nodes WHERE shard = 'across-0' AND status = 'online'").first<{ n: number }>())?.n ?? 0) === 4);
		await sleep(2000); // online for a while before the crash
		await runDurableObjectAlarm(shard); // a checkpoint, as the running shard takes every CHECKPOINT_S

		// Down: the process holding the sockets is gone, and no cron runs (nothing settles, nothing wakes the shard).
		await evictDurableObject(shard, { webSockets: "close" });
		stops.forEach((stop) => stop());
		// Epoch 1 has run for almost an hour: its boundary passes 2.5 s from now, while the coordinator is down
		// (more than a whole second after the checkpoint, so the late nodes' incident time in epoch 1 survives flooring).
		const boundary = Date.now() + 2500;
		await env.DB.prepare("INSERT INTO epochs (n, started_at) VALUES (1, ?)").bind(boundary - H).run();
		await sleep(boundary + 300 - Date.now());

		// Back: one node reconnects within the grace period; the other three only after it, so they count as our incident.
		const [first, ...late] = nodes as [TestNode, ...TestNode[]];
		stops = [];
		const back = await connect(first);
		await back.next("welcome");
		stops.push(healthyAgent(back, first));
		await sleep(3500); // OFFLINE_AFTER_S of grace
		await runDurableObjectAlarm(shard);
		const { body } = await callJson<{ incidents: { id: string; scope: string; reason: string }[] }>("/v1/incidents");
		expect(body.incidents.find((i) => i.scope === "shard:across-0")?.reason).toBe("coordinator_restart");
		for (const node of late) {
			const link = await connect(node);
			await link.next("welcome");
			stops.push(healthyAgent(link, node));
		}
		await sleep(1500);

		// The first cron tick after the restart closes epoch 1 at its exact boundary and settles it; then epoch 2 is settled.
		const tick = await env.SETTLER.getByName("global").tick(Date.now());
		expect(tick.settled.map((s) => s.epoch)).toEqual([1]);
		expect((await epoch(1)).ended_at).toBe(boundary);
		await sleep(1000);
		const settled = await callJson<{ epoch: number }>("/v1/admin/epochs/settle", { method: "POST", auth: TEST_ADMIN_TOKEN, body: {} });
		expect(settled.body.epoch).toBe(2);
		stops.forEach((stop) => stop());
		const second = await epoch(2);
		expect(second.started_at).toBe(boundary);

		for (const node of nodes) {
			const from = await cameOnline(node);
			expect(from).toBeLessThan(boundary - 3000); // online for seconds of epoch 1 before the crash
			// Each part of a row is floored to whole seconds: online and incident seconds together lose under 2 s.
			const one = await row(1, node);
			expect(one.online_seconds + one.incident_seconds).toBeGreaterThanOrEqual(Math.floor((boundary - from) / 1000) - 1);
			expect(one.online_seconds + one.incident_seconds).toBeLessThanOrEqual(Math.ceil((boundary - from) / 1000));
			const two = await row(2, node);
			const length = Math.floor(((second.ended_at as number) - boundary) / 1000);
			expect(two.online_seconds + two.incident_seconds).toBeGreaterThanOrEqual(length - 1);
			expect(two.online_seconds + two.incident_seconds).toBeLessThanOrEqual(length);
		}
		// The late nodes were offline across the boundary: that time is credited as incident seconds, on both sides of it.
		for (const node of late) {
			expect((await row(1, node)).incident_seconds).toBeGreaterThan(0);
			expect((await row(2, node)).incident_seconds).toBeGreaterThanOrEqual(3);
		}
	});
});
