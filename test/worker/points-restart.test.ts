// A coordinator restart across an epoch boundary: the shard holding the sockets is gone and no cron runs while the
// boundary passes; afterwards the cron closes the epoch at its exact boundary and no node loses a second.
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { EpochRow } from "../../workers/db/epochs.ts";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import {
	OFFLINE_AFTER_MS,
	TestClock,
	backdated,
	callJson,
	connect,
	eventually,
	healthyAgent,
	type Link,
	newAccount,
	ping,
	registerNode,
	setClock,
	sweepAt,
	type TestNode,
} from "./helpers.ts";

const H = 3600_000;

async function epoch(n: number): Promise<EpochRow> {
	return (await env.DB.prepare("SELECT * FROM epochs WHERE n = ?").bind(n).first<EpochRow>()) as EpochRow;
}

async function row(n: number, node: TestNode): Promise<LedgerRow> {
	return (await env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
		.bind(n, node.id)
		.first<LedgerRow>()) as LedgerRow;
}

/** When the node's first recorded online interval began. */
async function cameOnline(node: TestNode): Promise<number> {
	return (
		await env.DB.prepare("SELECT min(started_at) AS t FROM online_intervals WHERE node_id = ?")
			.bind(node.id)
			.first<{ t: number }>()
	)?.t as number;
}

describe("a coordinator restart across an epoch boundary", () => {
	it("loses no accrued second in the epoch that ended while it was down, nor in the next one", async () => {
		const owner = await newAccount("across");
		const nodes: TestNode[] = [];
		for (let i = 0; i < 4; i++) nodes.push(await registerNode(owner, { region: "across" }));
		const shard = env.LIVENESS.getByName("across-0");
		let stops: (() => void)[] = [];
		const links: Link[] = [];
		// Online for a while before the crash: the nodes connected 2 s ago, by the shard's clock.
		await backdated(shard, 2000, async () => {
			for (const node of nodes) {
				const link = await connect(node);
				await link.next("welcome");
				links.push(link);
				stops.push(healthyAgent(link, node));
			}
		});
		await eventually(
			async () =>
				((
					await env.DB.prepare("SELECT count(*) AS n FROM nodes WHERE shard = 'across-0' AND status = 'online'").first<{
						n: number;
					}>()
				)?.n ?? 0) === 4,
		);
		await Promise.all(links.map(ping)); // alive at the checkpoint
		await runDurableObjectAlarm(shard); // a checkpoint, as the running shard takes every CHECKPOINT_S

		// Down: the process holding the sockets is gone, and no cron runs (nothing settles, nothing wakes the shard).
		await evictDurableObject(shard, { webSockets: "close" });
		stops.forEach((stop) => stop());
		// Epoch 1 has run for almost an hour: its boundary passes 2.5 s from now, while the coordinator is down
		// (more than a whole second after the checkpoint, so the late nodes' incident time in epoch 1 survives flooring).
		const boundary = Date.now() + 2500;
		await env.DB.prepare("INSERT INTO epochs (n, started_at) VALUES (1, ?)")
			.bind(boundary - H)
			.run();
		// From here on the test moves the shard's clock (and the settler's `now`) instead of waiting.
		const clock = new TestClock(boundary + 300);
		await setClock(shard, clock);

		// Back: one node reconnects within the grace period; the other three only after it, so they count as our incident.
		const [first, ...late] = nodes as [TestNode, ...TestNode[]];
		stops = [];
		const back = await connect(first);
		await back.next("welcome");
		stops.push(healthyAgent(back, first));
		clock.at += OFFLINE_AFTER_MS; // OFFLINE_AFTER_S of grace
		await sweepAt(shard, clock.at);
		const { body } = await callJson<{ incidents: { id: string; scope: string; reason: string }[] }>("/v1/incidents");
		expect(body.incidents.find((i) => i.scope === "shard:across-0")?.reason).toBe("coordinator_restart");
		clock.at += 500;
		for (const node of late) {
			const link = await connect(node);
			await link.next("welcome");
			stops.push(healthyAgent(link, node));
		}
		clock.at += 1500;

		// The first cron tick after the restart closes epoch 1 at its exact boundary and settles it; then epoch 2 is
		// settled (by the settler, at the test's time: the admin route would settle at the wall clock, behind the shard's).
		const settler = env.SETTLER.getByName("global");
		const tick = await settler.tick(clock.at);
		expect(tick.settled.map((s) => s.epoch)).toEqual([1]);
		expect((await epoch(1)).ended_at).toBe(boundary);
		clock.at += 1000;
		const settled = await settler.settleNow(clock.at);
		expect(settled.settled.map((s) => s.epoch)).toEqual([2]);
		stops.forEach((stop) => stop());
		const second = await epoch(2);
		expect(second.started_at).toBe(boundary);

		for (const node of nodes) {
			const from = await cameOnline(node);
			expect(from).toBeLessThan(boundary - 3000); // online for seconds of epoch 1 before the crash
			// Each part of a row is floored to whole seconds: online and incident seconds together lose under 2 s.
			const one = await row(1, node);
			expect(one.online_seconds + one.incident_seconds).toBeGreaterThanOrEqual(
				Math.floor((boundary - from) / 1000) - 1,
			);
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
