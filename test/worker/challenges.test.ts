// Challenge counts are exact: what an agent is told is what the ledger settles, across epochs and shard restarts.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LivenessShard } from "../../durable-objects/LivenessShard.ts";
import { openEpochNumber } from "../../workers/db/epochs.ts";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import { echoAnswer } from "../../workers/domain/challenge.ts";
import { TEST_ADMIN_TOKEN } from "../constants.ts";
import { callJson, connect, type Link, newAccount, registerNode, shardOf, sweepAt, type TestNode } from "./helpers.ts";

type Shard = Awaited<ReturnType<typeof shardOf>>;
interface Result {
	id: string;
	passed: boolean;
	outcome: "passed" | "failed" | "missed";
	epoch: number;
}
interface Counts {
	issued: number;
	passed: number;
	failed: number;
	missed: number;
}

async function online(): Promise<{ node: TestNode; link: Link; shard: Shard }> {
	const node = await registerNode(await newAccount());
	const link = await connect(node);
	await link.next("welcome");
	return { node, link, shard: await shardOf(node) };
}

/** One challenge, answered as `how` says; the next sweep records the outcome and tells the agent. */
async function round(
	t: { node: TestNode; link: Link; shard: Shard },
	how: "right" | "wrong" | "none",
): Promise<Result> {
	await sweepAt(t.shard, Date.now()); // the tests challenge every online node each sweep
	const ch = (await t.link.next("challenge")) as { id: string; nonce: string; deadline: string };
	if (how !== "none") {
		const answer = how === "right" ? await echoAnswer(t.node.id, ch.nonce) : "wrong";
		t.link.ws.send(JSON.stringify({ type: "challenge_response", id: ch.id, answer }));
		await countedOnSocket(t.shard, ch.id);
		await sweepAt(t.shard, Date.now());
	} else await sweepAt(t.shard, Date.parse(ch.deadline) + 1);
	return (await t.link.next("challenge_result")) as unknown as Result;
}

/** Waits until the shard has judged the answer (held on the socket until the next sweep records it). */
async function countedOnSocket(shard: Shard, id: string): Promise<void> {
	for (let i = 0; i < 100; i++) {
		const judged = await runInDurableObject<LivenessShard, boolean>(shard, (_o, state) =>
			state
				.getWebSockets()
				.some((ws) => (ws.deserializeAttachment() as { result?: { id: string } })?.result?.id === id),
		);
		if (judged) return;
		await new Promise((r) => setTimeout(r, 20));
	}
	throw new Error(`answer to ${id} never judged`);
}

async function counts(node: TestNode): Promise<Counts> {
	return (await callJson<{ node: { challenges: Counts } }>(`/v1/nodes/${node.id}`)).body.node.challenges;
}

function tally(results: Result[], epoch?: number): Counts {
	const r = epoch === undefined ? results : results.filter((x) => x.epoch === epoch);
	const n = (o: Result["outcome"]) => r.filter((x) => x.outcome === o).length;
	return { issued: r.length, passed: n("passed"), failed: n("failed"), missed: n("missed") };
}

describe("challenge counts", () => {
	it("count exactly the results the agent was told, passed, failed and missed alike", async () => {
		const t = await online();
		const told: Result[] = [];
		for (const how of ["right", "right", "wrong", "none", "right", "wrong", "none", "right"] as const) {
			told.push(await round(t, how));
		}
		expect(told.map((r) => r.outcome)).toEqual([
			"passed",
			"passed",
			"failed",
			"missed",
			"passed",
			"failed",
			"missed",
			"passed",
		]);
		for (const r of told) expect(r.passed).toBe(r.outcome === "passed");
		const epoch = await openEpochNumber(env.DB);
		expect(told.every((r) => r.epoch === epoch)).toBe(true);
		expect(await counts(t.node)).toEqual(tally(told));
	});

	it("settle into the epoch each result named, with issued = passed + failed + missed", async () => {
		const t = await online();
		const told: Result[] = [await round(t, "right"), await round(t, "wrong")];
		const settler = env.SETTLER.getByName("global");
		await settler.settleNow(Date.now());
		told.push(await round(t, "right"), await round(t, "none"));
		await settler.settleNow(Date.now());
		const epochs = [...new Set(told.map((r) => r.epoch))];
		expect(epochs).toHaveLength(2); // results after the first settlement name the next epoch
		for (const n of epochs) {
			const row = await env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
				.bind(n, t.node.id)
				.first<LedgerRow>();
			const c = tally(told, n);
			expect(row).toMatchObject({
				challenges_issued: c.issued,
				challenges_passed: c.passed,
				challenges_failed: c.failed,
				challenges_missed: c.missed,
			});
			expect(c.issued).toBe(c.passed + c.failed + c.missed);
		}
	});

	it("keep every told result across a shard restart, and count nothing the agent was not told", async () => {
		const t = await online();
		const told: Result[] = [await round(t, "right"), await round(t, "right")];
		// A third answer is judged, then the shard restarts before the sweep that would record and tell it.
		await sweepAt(t.shard, Date.now());
		const ch = (await t.link.next("challenge")) as { id: string; nonce: string };
		t.link.ws.send(
			JSON.stringify({ type: "challenge_response", id: ch.id, answer: await echoAnswer(t.node.id, ch.nonce) }),
		);
		await countedOnSocket(t.shard, ch.id);
		await evictDurableObject(t.shard, { webSockets: "close" });
		expect(await counts(t.node)).toEqual(tally(told)); // 2 / 2: the untold one is void, the told ones are kept
		const back = { ...t, link: await connect(t.node) };
		await back.link.next("welcome");
		told.push(await round(back, "wrong"));
		expect(await counts(t.node)).toEqual(tally(told));
	});

	it("counts a challenge pending when the agent leaves as missed", async () => {
		const t = await online();
		await sweepAt(t.shard, Date.now());
		await t.link.next("challenge");
		t.link.ws.send(JSON.stringify({ type: "bye" }));
		await t.link.closed;
		for (let i = 0; i < 50 && (await counts(t.node)).missed === 0; i++) await new Promise((r) => setTimeout(r, 20));
		expect(await counts(t.node)).toEqual({ issued: 1, passed: 0, failed: 0, missed: 1 });
	});
});

/** Overwrites a shard's stored counts of an epoch (what settlement reads), as a corrupted figure would be. */
async function saveCounts(shard: Shard, epoch: number, counts: Record<string, Counts>): Promise<void> {
	await runInDurableObject<LivenessShard, void>(shard, (o) => {
		const store = (o as unknown as { store: { saveChallengeCounts(n: number, c: object): void } }).store;
		store.saveChallengeCounts(epoch, counts);
	});
}

describe("settlement invariants", () => {
	it("does not publish an epoch whose row breaks one, tells staff once, publishes it once sound", async () => {
		const t = await online();
		await round(t, "right");
		const settler = env.SETTLER.getByName("global");
		await settler.settleNow(Date.now()); // earlier epochs out of the way
		const told = await round(t, "right");
		// A figure the shard cannot produce: 6 issued, 5 resolved (what the field's drifting counters showed).
		const broken = { issued: 6, passed: 5, failed: 0, missed: 0 };
		await saveCounts(t.shard, told.epoch, { [t.node.id]: broken });
		const first = await settler.settleNow(Date.now());
		expect(first.done).toBe(false);
		expect(first.blocked?.epoch).toBe(told.epoch);
		expect(first.blocked?.violations).toEqual([`${t.node.id}: 6 challenges issued but 5 passed + failed + missed`]);
		const epoch = await env.DB.prepare("SELECT root, settled_at FROM epochs WHERE n = ?").bind(told.epoch).first();
		expect(epoch).toEqual({ root: null, settled_at: null });
		await settler.resume({}, Date.now()); // blocked again: staff are not told twice
		const route = await callJson<{ error: { code: string; blocked: { epoch: number; violations: string[] } } }>(
			"/v1/admin/epochs/settle",
			{ auth: TEST_ADMIN_TOKEN, body: {} },
		);
		expect(route.status).toBe(409); // the admin hears why nothing was published
		expect(route.body.error).toMatchObject({ code: "conflict", blocked: { epoch: told.epoch } });
		const posts = await env.DB.prepare("SELECT content FROM discord_outbox WHERE content LIKE ?")
			.bind(`Epoch ${told.epoch} was not published%`)
			.all<{ content: string }>();
		expect(posts.results).toHaveLength(1);
		expect(posts.results[0]?.content).toContain("6 challenges issued but 5");
		// Staff correct the shard's stored counts; the next run computes the epoch afresh and publishes it.
		await saveCounts(t.shard, told.epoch, { [t.node.id]: { issued: 1, passed: 1, failed: 0, missed: 0 } });
		await runInDurableObject(env.SETTLER.getByName("global"), async (_o, state) => {
			state.storage.sql.exec("DELETE FROM shard_counts WHERE epoch = ?", told.epoch);
			state.storage.sql.exec("UPDATE progress SET phase = 'counts' WHERE epoch = ?", told.epoch);
		});
		const second = await settler.resume({}, Date.now());
		expect(second.blocked).toBeUndefined();
		expect(second.settled.map((s) => s.epoch)).toContain(told.epoch);
	});
});

describe("cron settlement", () => {
	it("waits until a silence in an epoch's last seconds would have been noticed before settling", async () => {
		const settler = env.SETTLER.getByName("global");
		await settler.settleNow(Date.now()); // a fresh open epoch starting now
		const open = (await env.DB.prepare("SELECT n, started_at FROM epochs WHERE ended_at IS NULL").first<{
			n: number;
			started_at: number;
		}>()) as { n: number; started_at: number };
		const end = open.started_at + 3600_000;
		const early = await settler.tick(end + 1000);
		expect(early.settled.map((s) => s.epoch)).not.toContain(open.n);
		const row = () => env.DB.prepare("SELECT ended_at, root FROM epochs WHERE n = ?").bind(open.n).first();
		expect(await row()).toEqual({ ended_at: end, root: null }); // closed at its boundary, not yet published
		// OFFLINE_AFTER_S (3) + two sweeps (1 s each) in the tests.
		const due = await settler.tick(end + 5000);
		expect(due.settled.map((s) => s.epoch)).toContain(open.n);
	});
});
