// Co-scheduled verification rounds (docs/VERIFICATION.md §14), in the Workers runtime with real sockets: suspects
// and decoys challenged at the same moment, verdicts once the last member ends, shared hardware flagged only after
// two rounds in a row, and the GPUs a round proves behind an address.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { systemClock } from "../../durable-objects/kit.ts";
import { roundDue } from "../../workers/services/verify-rounds.ts";
import {
	TEST_ADMIN_TOKEN,
	answerVerify,
	call,
	callJson,
	connect,
	eventually,
	markVerified,
	type Link,
	newAccount,
	nodeStatus,
	registerNode,
	shardOf,
	setClock,
	stopClock,
	type TestNode,
	type VerifyMsg,
} from "./helpers.ts";

/** A node of its own account, verified for its claim, connected from `ip` (so no challenge at connect). */
async function verifiedOnline(ip: string): Promise<{ node: TestNode; link: Link }> {
	const node = await registerNode(await newAccount());
	await markVerified(node);
	const link = await connect(node, undefined, { "cf-connecting-ip": ip });
	await link.next("welcome");
	return { node, link };
}

/** Says bye for each node and waits until D1 says they are offline (the next round's planner reads D1). */
async function leave(...xs: { node: TestNode; link: Link }[]) {
	for (const { link } of xs) link.ws.send(JSON.stringify({ type: "bye" }));
	await Promise.all(xs.map(({ link }) => link.closed));
	for (const { node } of xs) await eventually(async () => (await nodeStatus(node)) === "offline");
}

interface Started {
	round_id: string;
	groups: { key: string; node_ids: string[] }[];
	decoys: string[];
	nodes: number;
	not_started: string[];
}
interface RoundView {
	judged_at: string | null;
	members: { node_id: string; outcome: string | null; verdict: string | null; measured_ms: number | null }[];
}

async function startRound(): Promise<Started> {
	const res = await callJson<Started>("/v1/admin/verify-rounds", { method: "POST", auth: TEST_ADMIN_TOKEN });
	expect(res.status).toBe(200);
	return res.body;
}

const judged = (id: string): Promise<RoundView> =>
	eventually(async () => {
		const r = (await callJson<RoundView>(`/v1/admin/verify-rounds/${id}`, { auth: TEST_ADMIN_TOKEN })).body;
		return r.judged_at ? r : null;
	}) as Promise<RoundView>;

type NodeBody = {
	node: {
		flags: { code: string; evidence?: { group: { key: string; members: { measured_ms: number | null }[] } } }[];
		hardware: { verification: { state: string; reason?: string; failures?: number } };
	};
};
const view = async (n: TestNode) => (await callJson<NodeBody>(`/v1/nodes/${n.id}`, { auth: n.owner.key })).body.node;

/** Takes the link's next challenge and acknowledges it. */
async function received(link: Link): Promise<VerifyMsg> {
	const v = (await link.next("verify")) as unknown as VerifyMsg;
	link.ws.send(JSON.stringify({ type: "verify_ack", id: v.id }));
	return v;
}

describe("co-scheduled verification rounds", () => {
	it("challenges a suspect group and decoys at one moment, and proves the GPUs behind a shared address", async () => {
		const [a, b] = [await verifiedOnline("198.19.5.1"), await verifiedOnline("198.19.5.1")];
		const [c, d] = [await verifiedOnline("198.19.6.1"), await verifiedOnline("198.19.7.1")];
		const started = await startRound();
		expect(started.groups).toEqual([{ key: "net:198.19.5.0/24", node_ids: [a.node.id, b.node.id].sort() }]);
		expect(started.decoys).toEqual([c.node.id, d.node.id].sort()); // the only other online nodes
		expect(started).toMatchObject({ nodes: 4, not_started: [] });
		await Promise.all([a, b, c, d].map((x) => answerVerify(x.link)));
		const round = await judged(started.round_id);
		expect(round.members.map((m) => [m.outcome, m.verdict])).toEqual(Array(4).fill(["passed", "passed"]));
		const allowance = await env.DB.prepare("SELECT gpus, round_id FROM address_allowances WHERE address_key = ?")
			.bind("198.19.5.1")
			.first<{ gpus: number; round_id: string }>();
		expect(allowance).toEqual({ gpus: 2, round_id: started.round_id });
		expect((await view(a.node)).hardware.verification).toMatchObject({ state: "verified", failures: 0 });
		await leave(a, b, c, d);
	});

	it("flags members late together shared_hardware only in the second round in a row, with the timings", async () => {
		const [a, b] = [await verifiedOnline("198.19.8.1"), await verifiedOnline("198.19.8.2")];
		const shard = await shardOf(a.node);
		for (const round of [1, 2]) {
			const started = await startRound();
			expect(started.groups.map((g) => g.key)).toEqual(["net:198.19.8.0/24"]);
			const [va, vb] = await Promise.all([received(a.link), received(b.link)]);
			// Both commit after the deadline by the shard's clock: one device's throughput split between them.
			const clock = await stopClock(shard);
			clock.at = Date.parse(va.deadline) + 1;
			for (const [link, v] of [
				[a.link, va],
				[b.link, vb],
			] as const) {
				link.ws.send(JSON.stringify({ type: "verify_commit", id: v.id, root: "ab".repeat(32) }));
			}
			const r = await judged(started.round_id);
			await setClock(shard, systemClock);
			expect(r.members.map((m) => m.verdict)).toEqual(["shared", "shared"]);
			const v = await view(a.node);
			if (round === 1) {
				// One round late together could be one bad minute on a shared line: counted, not yet a penalty.
				expect(v.hardware.verification).toMatchObject({ state: "verified", failures: 1 });
				expect(v.flags).toEqual([]);
			} else {
				expect(v.hardware.verification).toMatchObject({ state: "failed", reason: "shared_hardware" });
				expect(v.flags).toHaveLength(1);
				expect(v.flags[0]).toMatchObject({
					code: "shared_hardware",
					evidence: {
						group: {
							kind: "network",
							size: 2,
							members: [
								{ node: expect.any(String), outcome: "late", measured_ms: expect.any(Number) },
								{ node: expect.any(String), outcome: "late", measured_ms: expect.any(Number) },
							],
						},
					},
				});
				// Nothing public names the network or the other node: the reason is generic, the evidence the owner's.
				const pub = await call(`/v1/nodes/${a.node.id}`);
				const text = await pub.text();
				for (const secret of ["198.19.8", b.node.id, "net:"]) expect(text).not.toContain(secret);
			}
		}
		await leave(a, b);
	});

	it("groups the nodes one account registered together, wherever they connect from", async () => {
		const owner = await newAccount();
		const [a, b] = [await registerNode(owner), await registerNode(owner)];
		const links: Link[] = [];
		for (const [n, ip] of [
			[a, "198.19.11.1"],
			[b, "198.19.12.1"],
		] as const) {
			const link = await connect(n, undefined, { "cf-connecting-ip": ip });
			await answerVerify(link); // the connect-time verification of an unverified claim
			links.push(link);
		}
		const started = await startRound();
		expect(started.groups).toEqual([{ key: expect.stringMatching(/^reg:acc_/), node_ids: [a.id, b.id].sort() }]);
		await Promise.all(links.map((l) => answerVerify(l)));
		await judged(started.round_id);
		await leave(...links.map((link, k) => ({ node: [a, b][k] as TestNode, link })));
	});

	it("counts a member that leaves or declines instead of answering as a failed attempt, not a way out", async () => {
		const [a, b, c] = [
			await verifiedOnline("198.19.9.1"),
			await verifiedOnline("198.19.9.2"),
			await verifiedOnline("198.19.9.3"),
		];
		const started = await startRound();
		await b.link.next("verify");
		await leave(b);
		const vc = (await c.link.next("verify")) as unknown as VerifyMsg;
		c.link.ws.send(JSON.stringify({ type: "verify_ack", id: vc.id }));
		c.link.ws.send(JSON.stringify({ type: "verify_decline", id: vc.id, reason: "busy" }));
		await answerVerify(a.link);
		const r = await judged(started.round_id);
		const verdict = Object.fromEntries(r.members.map((m) => [m.node_id, [m.outcome, m.verdict]]));
		// b and c were late together in one group: `shared`, the first time (a failure counted, not yet a flag).
		expect(verdict).toEqual({
			[a.node.id]: ["passed", "passed"],
			[b.node.id]: ["late", "shared"],
			[c.node.id]: ["late", "shared"],
		});
		expect((await view(b.node)).hardware.verification).toMatchObject({ state: "verified", failures: 1 });
		await leave(a, c);
	});

	it("starts nothing when no two online nodes are suspects, and refuses a body", async () => {
		const lone = await verifiedOnline("198.19.10.1");
		const res = await callJson<{ round_id: null; reason: string }>("/v1/admin/verify-rounds", {
			method: "POST",
			auth: TEST_ADMIN_TOKEN,
		});
		expect(res.body).toMatchObject({ round_id: null });
		const bad = await call("/v1/admin/verify-rounds", { auth: TEST_ADMIN_TOKEN, body: { nodes: ["x"] } });
		expect(bad.status).toBe(400);
		expect((await call("/v1/admin/verify-rounds/vrd_nope", { auth: TEST_ADMIN_TOKEN })).status).toBe(404);
		await leave(lone);
	});

	it("is due on the cron's interval after the last planning (even one that found no suspects), never at 0", async () => {
		expect(await roundDue(env, Date.now(), 0)).toBe(false);
		expect(await startRound()).toMatchObject({ round_id: null }); // nobody online: planned, nothing started
		const last = await env.DB.prepare("SELECT max(at) AS at FROM verify_rounds").first<{ at: number }>();
		const at = last?.at as number;
		expect(await roundDue(env, at + 3_599_000, 3600)).toBe(false);
		expect(await roundDue(env, at + 3_600_000, 3600)).toBe(true);
	});
});
