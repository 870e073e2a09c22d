// The ledger from known inputs: rewards pro rata, the /v1/stats figures, the rolling 7-day leaderboard, the idempotency
// guards of settlement and a crash in its write phase. Inputs are written as the shards record them (online intervals,
// incidents, rentals in D1) and epochs are closed at chosen moments, so every figure is known in advance.
// The tests run in order and share this file's storage: the first settles epoch 1 (month 0 of the emission).
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { EpochSettler } from "../../durable-objects/EpochSettler.ts";
import { MICRO, MONTH_MS, emissionBetween } from "../../workers/domain/emission.ts";
import { computePoints } from "../../workers/domain/points.ts";
import type { EpochRow } from "../../workers/db/epochs.ts";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import {
	HARDWARE,
	TEST_ADMIN_TOKEN,
	callJson,
	markVerified,
	newAccount,
	registerNode,
	type TestNode,
} from "./helpers.ts";

const S = 1000;
const H = 3600 * S;
const DAY = 24 * H;

const settler = () => env.SETTLER.getByName("global");

async function openEpoch(): Promise<EpochRow> {
	return (await env.DB.prepare("SELECT * FROM epochs WHERE ended_at IS NULL").first<EpochRow>()) as EpochRow;
}

async function epoch(n: number): Promise<EpochRow> {
	return (await env.DB.prepare("SELECT * FROM epochs WHERE n = ?").bind(n).first<EpochRow>()) as EpochRow;
}

async function rows(n: number): Promise<LedgerRow[]> {
	return (await env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? ORDER BY node_id").bind(n).all<LedgerRow>())
		.results;
}

async function row(n: number, node: TestNode): Promise<LedgerRow> {
	return (await env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
		.bind(n, node.id)
		.first<LedgerRow>()) as LedgerRow;
}

/** An online interval as a shard records it (ended in `incident` when the coordinator dropped the node). */
async function online(node: TestNode, from: number, to: number, incident: string | null = null): Promise<void> {
	await env.DB.prepare(
		"INSERT INTO online_intervals (node_id, started_at, ended_at, end_reason, incident_id) VALUES (?, ?, ?, ?, ?)",
	)
		.bind(node.id, from, to, incident ? "mass_drop" : "disconnected", incident)
		.run();
}

/** A cluster's summary row, as the Cluster object records it: who rented, at what price per GPU-hour. */
async function cluster(id: string, renterId: string, priceCents: number): Promise<void> {
	await env.DB.prepare(
		`INSERT INTO clusters (id, account_id, gpu_model, gpu_count, hours, status, price_cents, created_at)
		VALUES (?, ?, 'RTX 4090', 1, 1, 'completed', ?, 0)`,
	)
		.bind(id, renterId, priceCents)
		.run();
}

/**
 * A verification of the node's claim, so that it is paid its tier's weight for every GPU (an unverified node earns one
 * GPU of the lowest tier). None of these nodes had its bandwidth measured: availability counts ×0.9 (docs/POINTS.md).
 */
async function verify(node: TestNode, claim: { gpu_model: string; gpu_count: number }): Promise<void> {
	await markVerified(node, claim);
}

/** Closes the open epoch `length` ms after its start, exactly there, and settles it; its number. */
async function closeAfter(length: number, budget: { pageSize?: number } = {}): Promise<number> {
	const open = await openEpoch();
	const result = await settler().settleNow(open.started_at + length, budget);
	expect(result.done).toBe(true);
	expect(result.settled.map((s) => s.epoch)).toContain(open.n);
	return open.n;
}

interface Stats {
	gpu_hours_24h: number;
	rented_gpu_hours_24h: number;
	points_24h: number;
	rewards_24h: number;
	settled_epochs_24h: number;
	definitions: Record<string, string>;
}
async function stats(): Promise<Stats> {
	const { status, body } = await callJson<Stats>("/v1/stats");
	expect(status).toBe(200);
	return body;
}

beforeAll(async () => {
	await settler().tick(Date.now()); // epoch 1 starts now; nothing is due yet
});

describe("before any epoch is settled", () => {
	it("answers points reads with a clear 409, and unknown nodes with 404", async () => {
		const node = await registerNode(await newAccount());
		const open = await openEpoch();
		for (const path of [
			"/v1/leaderboard",
			"/v1/leaderboard?window=7d",
			`/v1/leaderboard?epoch=${open.n}`,
			`/v1/nodes/${node.id}/points`,
			`/v1/nodes/${node.id}/points?epoch=${open.n}`,
			`/v1/epochs/${open.n}/proof/${node.id}`,
		]) {
			const { status, body } = await callJson<{ error: { code: string; message: string } }>(path);
			expect({ path, status, code: body.error.code }).toEqual({ path, status: 409, code: "conflict" });
			expect(body.error.message).toMatch(/settled/);
		}
		expect((await callJson("/v1/nodes/node_nobodyhasthis/points")).status).toBe(404);
		expect((await callJson<{ status: string }>(`/v1/epochs/${open.n}`)).body.status).toBe("open");
	});
});

describe("a settled epoch", () => {
	it("shares the epoch's emission pro rata to points and adds its figures to /v1/stats", async () => {
		const before = await stats();
		const e = await openEpoch();
		const t0 = e.started_at;
		const owner = await newAccount("ledger");
		const a = await registerNode(owner); // one RTX 4090
		const b = await registerNode(owner, { hardware: { ...HARDWARE, gpu_count: 2 } });
		const c = await registerNode(owner, { hardware: { ...HARDWARE, gpu_model: "H100" } }); // never online
		await verify(a, HARDWARE);
		await verify(b, { ...HARDWARE, gpu_count: 2 });
		// a: online for half an hour, then dropped in a coordinator incident that ended 100 s later; it never came back,
		// so it is credited the 100 s and the 15 minutes of grace after the incident: 1000 incident seconds.
		await env.DB.prepare(
			"INSERT INTO incidents (id, scope, reason, started_at, ended_at, " +
				"nodes_affected) VALUES ('inc_ledger', 'shard:ledger', 'mass_drop', ?, ?, 1)",
		)
			.bind(t0 + 1800 * S, t0 + 1900 * S)
			.run();
		await online(a, t0, t0 + 1800 * S, "inc_ledger");
		// b: online 2700 s on both GPUs, one of them rented for 900 s of it by another account, at 40¢ per GPU-hour
		// (10¢: all 900 GPU-seconds paid for).
		await online(b, t0 + 900 * S, t0 + 3600 * S);
		await cluster("clu_ledger", (await newAccount("renter")).id, 40);
		await env.DB.prepare(
			"INSERT INTO rentals (node_id, cluster_id, gpu_count, started_at, ended_at) VALUES (?, 'clu_ledger', 1, ?, ?)",
		)
			.bind(b.id, t0 + 1000 * S, t0 + 1900 * S)
			.run();
		const n = await closeAfter(H);

		const [ra, rb, rc] = [await row(n, a), await row(n, b), await row(n, c)];
		// a: 2800 credited seconds × 1 GPU × 1.0 × 0.9 (bandwidth not measured).
		expect(ra).toMatchObject({ online_seconds: 1800, incident_seconds: 1000, availability_points: 2520, points: 2520 });
		// b: 2700 s × 2 GPUs × 1.0 × 0.9, and 900 rented GPU-seconds × 1.0 × 2 (bandwidth does not touch rented time).
		expect(rb).toMatchObject({
			online_seconds: 2700,
			rented_gpu_seconds: 900,
			availability_points: 4860,
			compute_points: 1800,
			points: 6660,
		});
		expect(rc).toMatchObject({ online_seconds: 0, points: 0, reward: 0 });
		const ep = await epoch(n);
		expect(ep.total_points).toBe(9180);
		// One hour of month 0: 500M × 8 % / 12 a month, spread evenly over the month, in micro-tokens.
		expect(ep.emission).toBe(emissionBetween(e.started_at, e.started_at, e.started_at + H));
		expect(
			Math.abs((ep.emission as number) - ((500_000_000 * 0.08) / 12) * (H / MONTH_MS) * MICRO),
		).toBeLessThanOrEqual(1);
		const E = BigInt(ep.emission as number);
		// Every row: floor(emission × points / total points), exactly.
		for (const r of await rows(n)) expect(BigInt(r.reward)).toBe((E * BigInt(r.points)) / 9180n);
		expect(rb.reward).toBeGreaterThan(2 * ra.reward);
		const shared = (await rows(n)).reduce((s, r) => s + r.reward, 0);
		expect(shared).toBeLessThanOrEqual(ep.emission as number);
		expect((ep.emission as number) - shared).toBeLessThanOrEqual(1); // two earning rows: at most one micro-token unshared
		const { body: breakdown } = await callJson<{ reward: number }>(`/v1/nodes/${b.id}/points?epoch=${n}`);
		expect(breakdown.reward).toBe(rb.reward);

		const after = await stats();
		// Online GPU-hours: (1800 s × 1 GPU + 2700 s × 2 GPUs) / 3600 = 2, a's incident credit excluded.
		expect(after.gpu_hours_24h - before.gpu_hours_24h).toBeCloseTo(2, 9);
		expect(after.rented_gpu_hours_24h - before.rented_gpu_hours_24h).toBeCloseTo(0.25, 9);
		expect(after.points_24h - before.points_24h).toBe(9180);
		expect(after.rewards_24h - before.rewards_24h).toBeCloseTo(shared / MICRO, 6);
		expect(after.settled_epochs_24h - before.settled_epochs_24h).toBe(1);
		for (const k of ["gpu_hours_24h", "rented_gpu_hours_24h", "points_24h", "rewards_24h", "settled_epochs_24h"])
			expect(after.definitions[k]).toMatch(/\w{5}/);
		const { body: doc } = await callJson<{
			paths: Record<
				string,
				{
					get: {
						responses: {
							200: {
								content: { "application/json": { schema: { properties: Record<string, { description: string }> } } };
							};
						};
					};
				}
			>;
		}>("/openapi.json");
		expect(
			doc.paths["/v1/stats"]?.get.responses[200].content["application/json"].schema.properties.rented_gpu_hours_24h
				?.description,
		).toBe(after.definitions.rented_gpu_hours_24h);
	});
});

describe("the rolling 7-day leaderboard", () => {
	it(
		"sums the settled epochs that ended within 7 days of the newest, " +
			"adjustments included, and leaves older ones out",
		async () => {
			const owner = await newAccount("weekly");
			const node = await registerNode(owner);
			await verify(node, HARDWARE);
			const spans: number[] = [];
			// Three epochs: an hour (900 points: 1000 s × 0.9), then one running to 7 days after the first ended (180),
			// then an hour (360).
			// The first ended exactly 7 days before the newest did: outside the window.
			for (const [length, seconds] of [
				[H, 1000],
				[7 * DAY - H, 200],
				[H, 400],
			] as const) {
				const open = await openEpoch();
				await online(node, open.started_at + 10 * S, open.started_at + (10 + seconds) * S);
				spans.push(await closeAfter(length));
			}
			const [old, mid, newest] = spans as [number, number, number];
			expect(((await epoch(newest)).ended_at as number) - ((await epoch(old)).ended_at as number)).toBe(7 * DAY);
			for (const [n, pts] of [
				[old, 900],
				[mid, 180],
				[newest, 360],
			] as const)
				expect((await row(n, node)).points).toBe(pts);
			for (const [n, points, reason] of [
				[old, 50, "credit for the old epoch"],
				[newest, 7, "credit for the newest epoch"],
			] as const) {
				expect(
					(
						await callJson("/v1/admin/adjustments", {
							auth: TEST_ADMIN_TOKEN,
							body: { node_id: node.id, epoch: n, points, reason },
						})
					).status,
				).toBe(201);
			}

			type Board = {
				from_epoch: number;
				to_epoch: number;
				window: string | null;
				leaders: { account_id: string; points: number; reward: number; nodes: number; rank: number }[];
			};
			const week = await callJson<Board>("/v1/leaderboard?window=7d");
			expect(week.status).toBe(200);
			expect(week.body).toMatchObject({ from_epoch: mid, to_epoch: newest, window: "7d" });
			const mine = week.body.leaders.find((l) => l.account_id === owner.id);
			expect(mine).toMatchObject({ points: 180 + 360 + 7, nodes: 1, rank: 1 });
			expect(mine?.reward).toBe((await row(mid, node)).reward + (await row(newest, node)).reward);
			const one = await callJson<Board>(`/v1/leaderboard?epoch=${old}`);
			expect(one.body).toMatchObject({ from_epoch: old, to_epoch: old, window: null });
			expect(one.body.leaders.find((l) => l.account_id === owner.id)?.points).toBe(950);
			const latest = await callJson<Board>("/v1/leaderboard");
			expect(latest.body.leaders.find((l) => l.account_id === owner.id)?.points).toBe(367);
		},
	);
});

/** The settler's private settlement of one epoch, driven directly to re-run phases on an epoch already written. */
type Settle = (e: EpochRow, budget: { pages: number; size: number }, now: number) => Promise<string | null>;
const settleOf = (instance: EpochSettler): Settle => (instance as unknown as { settle: Settle }).settle.bind(instance);

describe("settlement's idempotency guards", () => {
	it("leaves a settled epoch as it was when its write phase runs again with different inputs", async () => {
		const owner = await newAccount("again");
		const nodes = [await registerNode(owner), await registerNode(owner), await registerNode(owner)];
		const open = await openEpoch();
		for (const [k, node] of nodes.entries()) await online(node, open.started_at, open.started_at + (k + 1) * 600 * S);
		const n = await closeAfter(H);
		const settled = await epoch(n);
		const written = await rows(n);
		expect(written.filter((r) => r.points > 0).length).toBeGreaterThanOrEqual(3);

		// What settlement would now compute differs: more online time for one node, and a flag on another.
		const [x, y] = nodes as [TestNode, TestNode];
		await online(x, open.started_at + 2000 * S, open.started_at + 3500 * S);
		expect(
			(
				await callJson("/v1/admin/flags", {
					auth: TEST_ADMIN_TOKEN,
					body: { node_id: y.id, code: "late_flag", reason: "set after the epoch was settled", share: 1 },
				})
			).status,
		).toBe(201);

		// Run the epoch's counts and compute phases again (stopping before the write phase), and look at what was staged.
		const staged = await runInDurableObject(settler(), async (instance: EpochSettler, state) => {
			expect(await settleOf(instance)(settled, { pages: 1, size: 10_000 }, Date.now())).toBeNull();
			const progress = state.storage.sql.exec("SELECT phase, total_points FROM progress WHERE epoch = ?", n).one();
			const stage = state.storage.sql.exec("SELECT node_id, row FROM stage WHERE epoch = ?", n).toArray();
			return {
				progress,
				stage: new Map(stage.map((r) => [r.node_id as string, JSON.parse(r.row as string) as LedgerRow])),
			};
		});
		expect(staged.progress.phase).toBe("write");
		expect(staged.progress.total_points).not.toBe(settled.total_points);
		expect(staged.stage.get(x.id)?.online_seconds).toBe(
			(written.find((r) => r.node_id === x.id)?.online_seconds as number) + 1500,
		);
		expect(staged.stage.get(y.id)?.points).toBe(0);
		// Now the write and root phases: INSERT OR IGNORE meets every row already there, markSettled finds the epoch settled.
		const all = { pages: Number.POSITIVE_INFINITY, size: 10_000 };
		const root = await runInDurableObject(settler(), (o: EpochSettler) => settleOf(o)(settled, all, Date.now()));
		expect(root).toBe(settled.root);
		expect(await epoch(n)).toEqual(settled);
		expect(await rows(n)).toEqual(written);
		const { body: e } = await callJson<{ root: string; total_points: number; nodes: number }>(`/v1/epochs/${n}`);
		expect(e).toMatchObject({ root: settled.root, total_points: settled.total_points, nodes: written.length });
	});
});

describe("a crash in the write phase", () => {
	it("resumes after the object is reset and ends with the root and totals of an uninterrupted settlement", async () => {
		const owner = await newAccount("crash");
		const nodes: TestNode[] = [];
		for (let i = 0; i < 7; i++)
			nodes.push(await registerNode(owner, { hardware: { ...HARDWARE, gpu_count: 1 + (i % 3) } }));
		const open = await openEpoch();
		for (const [k, node] of nodes.entries())
			await online(node, open.started_at + k * 60 * S, open.started_at + (k + 1) * 400 * S);
		const ids = (
			await env.DB.prepare("SELECT id FROM nodes WHERE created_at < ? ORDER BY id")
				.bind(open.started_at + H)
				.all<{ id: string }>()
		).results.map((r) => r.id);
		expect(ids.length).toBeGreaterThanOrEqual(9);
		// A fault injected in D1: the insert of the page holding the 4th row fails (pages of 3 rows), after page 1 is
		// written.
		await env.DB.prepare(
			`CREATE TRIGGER injected_fault BEFORE INSERT ON points_ledger WHEN ` +
				`NEW.node_id = '${ids[3]}' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`,
		).run();
		let fault: unknown = null;
		try {
			await settler().settleNow(open.started_at + H, { pageSize: 3 });
		} catch (err) {
			// caught here, not with expect().rejects, which leaves the RPC promise's rejection unhandled (workerd still
			// logs it leaving the object)
			fault = err;
		}
		expect(String(fault)).toMatch(/injected fault/);
		const n = open.n;
		expect((await rows(n)).map((r) => r.node_id)).toEqual(ids.slice(0, 3));
		expect((await epoch(n)).settled_at).toBeNull();
		expect((await callJson<{ status: string }>(`/v1/epochs/${n}`)).body.status).toBe("closing");
		expect((await callJson(`/v1/epochs/${n}/proof/${ids[0]}`)).status).toBe(409);

		await evictDurableObject(settler()); // the object's memory is gone; only its storage and D1 remain
		await env.DB.prepare("DROP TRIGGER injected_fault").run();
		const resumed = await settler().resume({ pageSize: 3 });
		expect(resumed).toEqual({ settled: [{ epoch: n, root: expect.stringMatching(/^[0-9a-f]{64}$/) }], done: true });
		const interrupted = { epoch: await epoch(n), rows: await rows(n) };
		expect(interrupted.rows.map((r) => r.node_id)).toEqual(ids);
		expect(interrupted.epoch).toMatchObject({ root: resumed.settled[0]?.root, nodes: ids.length });
		for (const [k, node] of nodes.entries()) {
			const r = interrupted.rows.find((x) => x.node_id === node.id) as LedgerRow;
			const expected = computePoints({
				gpu_model: "RTX 4090",
				gpu_count: 1 + (k % 3),
				verified: false,
				probation: false,
				address_share_bp: 10000,
				bandwidth_factor_bp: 9000,
				online_seconds: (k + 1) * 400 - k * 60,
				incident_seconds: 0,
				rented_gpu_seconds: 0,
				challenges: { issued: 0, passed: 0, failed: 0, missed: 0 },
				penalties: [],
			});
			expect(r.points).toBe(expected.points);
		}

		// The same epoch settled again from scratch, uninterrupted, gives the same root, totals and rows.
		await env.DB.batch([
			env.DB.prepare("DELETE FROM points_ledger WHERE epoch = ?").bind(n),
			env.DB.prepare(
				"UPDATE epochs SET settled_at = NULL, root = NULL, nodes = NULL, total_points = NULL, emission = NULL WHERE n = ?",
			).bind(n),
		]);
		const clean = await settler().resume();
		expect(clean.settled).toEqual([{ epoch: n, root: interrupted.epoch.root }]);
		const again = await epoch(n);
		expect({ ...again, settled_at: 0 }).toEqual({ ...interrupted.epoch, settled_at: 0 });
		expect(await rows(n)).toEqual(interrupted.rows);
		expect(interrupted.rows.reduce((s, r) => s + r.points, 0)).toBe(interrupted.epoch.total_points);
	});
});
