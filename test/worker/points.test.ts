// Settlement in the real runtime: rows from measured inputs, roots and proofs, idempotence, resumption, adjustments and
// flags.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../workers/index.ts";
import { describe, expect, it } from "vitest";
import { leafHash, merkleRoot, verifyProof, type LeafRow, type ProofStep } from "../../workers/domain/merkle.ts";
import { computePoints } from "../../workers/domain/points.ts";
import {
	markVerified,
	TEST_ADMIN_TOKEN,
	TestClock,
	callJson,
	connect,
	eventually,
	healthyAgent,
	newAccount,
	nodeStatus,
	registerNode,
	setClock,
	sweepAt,
	type TestNode,
} from "./helpers.ts";

interface Breakdown {
	epoch: number;
	points: number;
	reward: number;
	points_after_adjustments: number;
	inputs: {
		online_seconds: number;
		incident_seconds: number;
		gpu_model: string;
		gpu_count: number;
		verified: boolean;
		probation: boolean;
		address_share_bp: number;
		bandwidth_factor_bp: number;
		challenges: { issued: number; passed: number; failed: number; missed: number };
	};
	terms: { availability_points: number; penalty_points: number; penalties: { code: string; reason: string }[] };
	adjustments: { points: number; reason: string; author: string }[];
}
interface Proof {
	epoch: number;
	root: string;
	leaf: LeafRow;
	proof: ProofStep[];
}

/**
 * This file's time. Epochs are settled through the settler as of moments taken on it, and a test that needs seconds to
 * pass moves it instead of waiting. When read for a settlement it is never behind the wall clock: nodes, flags and
 * incidents are stamped by the Worker's clock, and each belongs to the epoch open when it happened.
 */
const time = new TestClock(Date.now());

/** Moves this file's time to `ms` after the later of where it stands and the wall clock, and returns it. */
function advance(ms = 0): number {
	time.at = Math.max(time.at, Date.now()) + ms;
	return time.at;
}

/** Ends the open epoch `ms` from now, by this file's time, and settles it (what the admin route does at its time). */
async function settle(ms = 0): Promise<{ epoch: number; root: string }> {
	const { settled } = await env.SETTLER.getByName("global").settleNow(advance(ms));
	const last = settled[settled.length - 1];
	expect(last).toBeDefined(); // the route answers 409 when nothing was settled
	return last as { epoch: number; root: string };
}

/**
 * Settles through the admin route, which ends the open epoch at the Worker's wall clock. Only the test of the route's
 * audit entry uses it, in the first block of the file: once a test has moved this file's time past the wall clock, the
 * route would end the open epoch before it started.
 */
async function settleByRoute(): Promise<{ epoch: number; root: string }> {
	if (time.at > Date.now()) throw new Error("the admin route settles at the wall clock, behind this file's time");
	const { status, body } = await callJson<{ epoch: number; root: string }>("/v1/admin/epochs/settle", {
		method: "POST",
		auth: TEST_ADMIN_TOKEN,
		body: {},
	});
	expect(status).toBe(200);
	return body;
}

/**
 * A node whose claim (HARDWARE) a verification proved, so that the few seconds a test keeps it online earn points: a
 * node that is not verified earns one GPU at the lowest weight, 0.15 × 0.9 of a point a second (docs/POINTS.md).
 */
async function verifiedNode(
	owner: { id: string; key: string },
	extra: Record<string, unknown> = {},
): Promise<TestNode> {
	const node = await registerNode(owner, extra);
	await markVerified(node);
	return node;
}

async function points(node: TestNode, epoch: number): Promise<Breakdown> {
	const { status, body } = await callJson<Breakdown>(`/v1/nodes/${node.id}/points?epoch=${epoch}`);
	expect(status).toBe(200);
	return body;
}

async function proof(epoch: number, nodeId: string): Promise<Proof> {
	return (await callJson<Proof>(`/v1/epochs/${epoch}/proof/${nodeId}`)).body;
}

interface AuditEntry {
	id: number;
	actor: string;
	action: string;
	target: string | null;
	details: Record<string, unknown>;
}

async function auditOf(target: string): Promise<AuditEntry[]> {
	const { status, body } = await callJson<{ entries: AuditEntry[] }>("/v1/admin/audit", { auth: TEST_ADMIN_TOKEN });
	expect(status).toBe(200);
	return body.entries.filter((e) => e.target === target).reverse(); // oldest first
}

const auditRows = async () =>
	(await env.DB.prepare("SELECT count(*) AS n FROM audit_log").first<{ n: number }>())?.n as number;

async function makeStaff(account: { id: string }, role: "staff" | "user" = "staff"): Promise<void> {
	expect(
		(await callJson(`/v1/admin/accounts/${account.id}/role`, { method: "PUT", auth: TEST_ADMIN_TOKEN, body: { role } }))
			.status,
	).toBe(200);
}

// First: it settles through the admin route, at the wall clock, before any test moves this file's time past it.
describe("the audit log", () => {
	it("records every admin and staff action with its actor, target and details", async () => {
		const owner = await newAccount("audited");
		const node = await registerNode(owner);
		const staff = await newAccount("staffer");
		const before = await auditRows();
		await makeStaff(staff);
		expect(
			(
				await callJson("/v1/admin/credits", {
					auth: TEST_ADMIN_TOKEN,
					body: { account_id: owner.id, amount_cents: 500 },
				})
			).status,
		).toBe(201);
		const { epoch, root } = await settleByRoute();
		const flag = await callJson<{ flag: { id: string } }>("/v1/admin/flags", {
			auth: staff.key,
			body: { node_id: node.id, code: "audit_flag", reason: "checking the audit log", share: 0.5 },
		});
		expect(flag.status).toBe(201);
		expect(
			(await callJson(`/v1/admin/flags/${flag.body.flag.id}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN })).status,
		).toBe(200);
		expect(
			(
				await callJson("/v1/admin/adjustments", {
					auth: staff.key,
					body: { node_id: node.id, epoch, points: -10, reason: "double-counted reconnect" },
				})
			).status,
		).toBe(201);

		expect(await auditRows()).toBe(before + 6);
		expect(await auditOf(`account:${staff.id}`)).toEqual([
			expect.objectContaining({ actor: "admin", action: "account.role", details: { role: "staff" } }),
		]);
		expect(await auditOf(`account:${owner.id}`)).toEqual([
			expect.objectContaining({
				actor: "admin",
				action: "credits.grant",
				details: expect.objectContaining({ amount_cents: 500 }),
			}),
		]);
		expect(await auditOf(`epoch:${epoch}`)).toEqual([
			expect.objectContaining({
				actor: "admin",
				action: "epoch.settle",
				details: expect.objectContaining({ settled: expect.arrayContaining([{ epoch, root }]) }),
			}),
		]);
		expect(await auditOf(`node:${node.id}`)).toEqual([
			expect.objectContaining({
				actor: staff.id,
				action: "flag.add",
				details: expect.objectContaining({
					id: flag.body.flag.id,
					code: "audit_flag",
					reason: "checking the audit log",
					share: 0.5,
				}),
			}),
			expect.objectContaining({
				actor: staff.id,
				action: "points.adjust",
				details: expect.objectContaining({ epoch, points: -10, reason: "double-counted reconnect", author: staff.id }),
			}),
		]);
		expect(await auditOf(`flag:${flag.body.flag.id}`)).toEqual([
			expect.objectContaining({ actor: "admin", action: "flag.clear", details: { id: flag.body.flag.id } }),
		]);
	});

	it("writes no entry for an action that was refused or found nothing to act on", async () => {
		const owner = await newAccount("refused");
		const node = await registerNode(owner);
		const { epoch } = await settle();
		const flag = (
			await callJson<{ flag: { id: string } }>("/v1/admin/flags", {
				auth: TEST_ADMIN_TOKEN,
				body: { node_id: node.id, code: "once_only", reason: "cleared once below", share: 0.1 },
			})
		).body.flag;
		expect((await callJson(`/v1/admin/flags/${flag.id}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN })).status).toBe(
			200,
		);
		const before = await auditRows();
		const refused: [string, { method?: string; auth?: string; body?: unknown }, number][] = [
			["/v1/admin/flags/flg_nosuchflag", { method: "DELETE", auth: TEST_ADMIN_TOKEN }, 404],
			[`/v1/admin/flags/${flag.id}`, { method: "DELETE", auth: TEST_ADMIN_TOKEN }, 404], // already cleared
			[
				"/v1/admin/accounts/acc_nosuchaccount/role",
				{ method: "PUT", auth: TEST_ADMIN_TOKEN, body: { role: "staff" } },
				404,
			],
			[
				"/v1/admin/credits",
				{ auth: TEST_ADMIN_TOKEN, body: { account_id: "acc_nosuchaccount", amount_cents: 5 } },
				404,
			],
			[
				"/v1/admin/flags",
				{
					auth: TEST_ADMIN_TOKEN,
					body: { node_id: "node_nosuchnode", code: "no_node", reason: "there is no such node", share: 1 },
				},
				404,
			],
			["/v1/admin/adjustments", { auth: TEST_ADMIN_TOKEN, body: { node_id: node.id, epoch, points: 5 } }, 400],
			[
				"/v1/admin/adjustments",
				{ auth: TEST_ADMIN_TOKEN, body: { node_id: node.id, epoch: epoch + 1, points: 5, reason: "not settled yet" } },
				409,
			],
			[
				"/v1/admin/adjustments",
				{ auth: TEST_ADMIN_TOKEN, body: { node_id: "node_nosuchnode", epoch, points: 5, reason: "no such row" } },
				404,
			],
			[
				"/v1/admin/adjustments",
				{ auth: owner.key, body: { node_id: node.id, epoch, points: 5, reason: "my own node, please" } },
				403,
			],
			[`/v1/admin/flags/${flag.id}`, { method: "DELETE", auth: owner.key }, 403],
		];
		for (const [path, o, status] of refused)
			expect({ path, status: (await callJson(path, o)).status }).toEqual({ path, status });
		expect(await auditRows()).toBe(before);
		expect((await points(node, epoch)).adjustments).toEqual([]);
	});
});

describe("epoch settlement", () => {
	it("gives a node online for part of the epoch the points the formula gives for its measured seconds", async () => {
		await settle(); // start a fresh epoch for this test
		const node = await verifiedNode(await newAccount(), { region: "pts-partial" });
		// The node's shard keeps this file's time: the node is online for as long as the test moves it.
		await setClock(env.LIVENESS.getByName("pts-partial-0"), time);
		time.at += 500; // half a second into the epoch
		const link = await connect(node);
		await link.next("welcome");
		const stop = healthyAgent(link, node);
		time.at += 2500;
		link.ws.close(1000);
		stop();
		await eventually(
			async () => (await callJson<{ node: { status: string } }>(`/v1/nodes/${node.id}`)).body.node.status === "offline",
		);
		const { epoch } = await settle(500); // the epoch ends half a second after the node left
		const b = await points(node, epoch);
		expect(b.inputs.online_seconds).toBeGreaterThanOrEqual(2);
		expect(b.inputs.online_seconds).toBeLessThanOrEqual(4);
		expect(b.inputs).toMatchObject({ verified: true, probation: false, address_share_bp: 10000 });
		const expected = computePoints({
			gpu_model: b.inputs.gpu_model,
			gpu_count: b.inputs.gpu_count,
			verified: b.inputs.verified,
			probation: b.inputs.probation,
			address_share_bp: b.inputs.address_share_bp,
			bandwidth_factor_bp: b.inputs.bandwidth_factor_bp,
			online_seconds: b.inputs.online_seconds,
			incident_seconds: 0,
			rented_gpu_seconds: 0,
			challenges: b.inputs.challenges,
			penalties: [],
		});
		expect(b.points).toBe(expected.points);
		expect(b.points).toBeGreaterThan(0);
	});

	it("publishes a root that every row's proof verifies against, and a changed field fails its proof", async () => {
		const owner = await newAccount();
		const nodes = [await registerNode(owner), await registerNode(owner), await registerNode(owner)];
		const { epoch, root } = await settle();
		const e = await callJson<{ status: string; root: string; nodes: number }>(`/v1/epochs/${epoch}`);
		expect(e.body).toMatchObject({ status: "settled", root });
		for (const n of nodes) {
			const p = await proof(epoch, n.id);
			expect(p.root).toBe(root);
			expect(await verifyProof(p.leaf, p.proof, root)).toBe(true);
		}
		// Someone edits a stored row: its proof no longer matches the published root.
		await env.DB.prepare(
			"UPDATE points_ledger SET online_seconds = online_seconds + 3600 WHERE epoch = ? AND node_id = ?",
		)
			.bind(epoch, nodes[0]?.id)
			.run();
		const tampered = await proof(epoch, nodes[0]?.id as string);
		expect(await verifyProof(tampered.leaf, tampered.proof, root)).toBe(false);
	});

	it(
		"has nothing to do when a settled epoch is asked to settle again " +
			"(the guards themselves: points-ledger.test.ts)",
		async () => {
			await registerNode(await newAccount());
			const { epoch, root } = await settle();
			const count = async () =>
				(
					await env.DB.prepare("SELECT count(*) AS n FROM points_ledger WHERE epoch = ?")
						.bind(epoch)
						.first<{ n: number }>()
				)?.n;
			const before = await count();
			const again = await env.SETTLER.getByName("global").resume();
			expect(again).toEqual({ settled: [], done: true });
			expect(await count()).toBe(before);
			expect((await callJson<{ root: string }>(`/v1/epochs/${epoch}`)).body.root).toBe(root);
		},
	);

	it("finishes a settlement interrupted half-way on the next try, without duplicates", async () => {
		await settle();
		const owner = await newAccount();
		for (let i = 0; i < 7; i++) await registerNode(owner);
		const settler = env.SETTLER.getByName("global");
		const first = await settler.settleNow(advance(), { maxPages: 2, pageSize: 3 });
		expect(first.done).toBe(false);
		const epoch = (await env.DB.prepare("SELECT max(n) - 1 AS n FROM epochs").first<{ n: number }>())?.n as number;
		expect((await callJson<{ status: string }>(`/v1/epochs/${epoch}`)).body.status).toBe("closing");
		await expect(callJson(`/v1/epochs/${epoch}/proof/x`)).resolves.toMatchObject({ status: 409 });
		const rest = await settler.resume({ pageSize: 3 }, advance());
		expect(rest.done).toBe(true);
		const rows = await env.DB.prepare("SELECT node_id, leaf FROM points_ledger WHERE epoch = ? ORDER BY node_id")
			.bind(epoch)
			.all<{ node_id: string; leaf: string }>();
		expect(new Set(rows.results.map((r) => r.node_id)).size).toBe(rows.results.length);
		const e = await callJson<{ root: string; nodes: number }>(`/v1/epochs/${epoch}`);
		expect(e.body.nodes).toBe(rows.results.length);
		expect(e.body.root).toBe(await merkleRoot(rows.results.map((r) => r.leaf)));
		for (const r of rows.results) {
			const p = await proof(epoch, r.node_id);
			expect(await leafHash(p.leaf)).toBe(r.leaf);
		}
	});

	it("shows staff adjustments as new rows with reason and author, leaving the settled row as it was", async () => {
		const node = await registerNode(await newAccount());
		const { epoch, root } = await settle();
		const before = await points(node, epoch);
		const adj = await callJson("/v1/admin/adjustments", {
			auth: TEST_ADMIN_TOKEN,
			body: { node_id: node.id, epoch, points: 250, reason: "missed challenges during our DNS outage" },
		});
		expect(adj.status).toBe(201);
		const after = await points(node, epoch);
		expect(after.points).toBe(before.points);
		expect(after.adjustments).toEqual([
			expect.objectContaining({ points: 250, author: "admin", reason: "missed challenges during our DNS outage" }),
		]);
		expect(after.points_after_adjustments).toBe(before.points + 250);
		expect((await callJson<{ root: string }>(`/v1/epochs/${epoch}`)).body.root).toBe(root);
		const audit = await callJson<{ entries: { action: string; target: string }[] }>("/v1/admin/audit", {
			auth: TEST_ADMIN_TOKEN,
		});
		expect(audit.body.entries).toContainEqual(
			expect.objectContaining({ action: "points.adjust", target: `node:${node.id}` }),
		);
	});

	it("refuses adjustments without a reason, and for unsettled epochs", async () => {
		const node = await registerNode(await newAccount());
		const { epoch } = await settle();
		expect(
			(
				await callJson("/v1/admin/adjustments", {
					auth: TEST_ADMIN_TOKEN,
					body: { node_id: node.id, epoch, points: 5 },
				})
			).status,
		).toBe(400);
		expect(
			(
				await callJson("/v1/admin/adjustments", {
					auth: TEST_ADMIN_TOKEN,
					body: { node_id: node.id, epoch: epoch + 1, points: 5, reason: "too early" },
				})
			).status,
		).toBe(409);
	});

	it("gives a flagged node zero points with the flag's reason in its breakdown", async () => {
		const node = await verifiedNode(await newAccount());
		const link = await connect(node);
		await link.next("welcome");
		const stop = healthyAgent(link, node);
		await settle();
		await callJson("/v1/admin/flags", {
			auth: TEST_ADMIN_TOKEN,
			body: {
				node_id: node.id,
				code: "shared_gpu",
				reason: "answers co-scheduled challenges with another node's GPU",
				share: 1,
			},
		});
		const { epoch } = await settle(3000); // the epoch ends 3 s on: 3 s online, flagged
		stop();
		const b = await points(node, epoch);
		expect(b.terms.availability_points).toBeGreaterThan(0);
		expect(b.points).toBe(0);
		expect(b.terms.penalties).toEqual([
			expect.objectContaining({
				code: "shared_gpu",
				reason: "answers co-scheduled challenges with another node's GPU",
			}),
		]);
		const view = await callJson<{ node: { flags: { code: string }[] } }>(`/v1/nodes/${node.id}`);
		expect(view.body.node.flags.map((f) => f.code)).toEqual(["shared_gpu"]);
	});

	it("credits offline time inside a coordinator incident as online", async () => {
		const owner = await newAccount();
		const nodes: TestNode[] = [];
		for (let i = 0; i < 4; i++) nodes.push(await registerNode(owner, { region: "incident-pts" }));
		await settle();
		const links = await Promise.all(nodes.map((n) => connect(n)));
		await Promise.all(links.map((l) => l.next("welcome")));
		for (const l of links) l.ws.close(1001, "edge outage");
		await eventually(async () => (await Promise.all(nodes.map(nodeStatus))).every((s) => s === "offline"));
		await sweepAt(env.LIVENESS.getByName("incident-pts-0"), Date.now()); // the sweep that sees the mass drop
		const incidents = await env.DB.prepare("SELECT count(*) AS n FROM incidents WHERE scope = ?")
			.bind("shard:incident-pts-0")
			.first<{ n: number }>();
		expect(incidents?.n).toBeGreaterThan(0);
		const { epoch } = await settle(1200); // the epoch ends more than a second into the incident

		const b = await points(nodes[0] as TestNode, epoch);
		expect(b.inputs.incident_seconds).toBeGreaterThanOrEqual(1);
	});

	it("ranks accounts on the leaderboard and sums an account's points", async () => {
		const owner = await newAccount("leader");
		const node = await verifiedNode(owner);
		const link = await connect(node);
		await link.next("welcome");
		const stop = healthyAgent(link, node);
		await settle();
		const { epoch } = await settle(3000); // the epoch ends 3 s on: 3 s online
		stop();
		const board = await callJson<{ leaders: { account_id: string; points: number; rank: number }[] }>(
			`/v1/leaderboard?epoch=${epoch}`,
		);
		const mine = board.body.leaders.find((l) => l.account_id === owner.id);
		expect(mine?.points).toBeGreaterThan(0);
		const summary = await callJson<{ epochs: { epoch: number; points: number }[] }>("/v1/points", { auth: owner.key });
		expect(summary.body.epochs.find((e) => e.epoch === epoch)?.points).toBe(mine?.points);
		expect((await callJson(`/v1/leaderboard?window=7d`)).status).toBe(200);
		expect((await callJson(`/v1/leaderboard?window=1y`)).status).toBe(400);
	});

	it("answers unknown epochs with 404 and open ones with a pending status", async () => {
		expect((await callJson("/v1/epochs/999999")).status).toBe(404);
		expect((await callJson("/v1/epochs/abc")).status).toBe(400);
		const open = await env.DB.prepare("SELECT max(n) AS n FROM epochs").first<{ n: number }>();
		expect((await callJson<{ status: string }>(`/v1/epochs/${open?.n}`)).body.status).toBe("open");
	});
});

describe("bad input on the points reads", () => {
	it("answers unknown nodes and epochs with 404 and unsettled epochs with 409", async () => {
		const node = await registerNode(await newAccount());
		const { epoch } = await settle();
		const open = epoch + 1;
		expect((await callJson<{ status: string }>(`/v1/epochs/${open}`)).body.status).toBe("open");
		const cases: [string, number][] = [
			["/v1/nodes/node_nobodyhasthis/points", 404],
			[`/v1/nodes/node_nobodyhasthis/points?epoch=${epoch}`, 404],
			[`/v1/nodes/${node.id}/points?epoch=999999`, 404],
			[`/v1/epochs/${epoch}/proof/node_nobodyhasthis`, 404],
			[`/v1/epochs/999999/proof/${node.id}`, 404],
			[`/v1/leaderboard?epoch=999999`, 404],
			[`/v1/nodes/${node.id}/points?epoch=${open}`, 409],
			[`/v1/epochs/${open}/proof/${node.id}`, 409],
			[`/v1/leaderboard?epoch=${open}`, 409],
			[`/v1/leaderboard?epoch=${epoch}&window=7d`, 400],
		];
		for (const [path, status] of cases) {
			const res = await callJson<{ error: { code: string } }>(path);
			expect({ path, status: res.status, code: res.body.error.code }).toEqual({
				path,
				status,
				code: { 400: "validation_failed", 404: "not_found", 409: "conflict" }[status],
			});
		}
		const later = await registerNode(await newAccount()); // did not exist in `epoch`: no row
		expect((await callJson(`/v1/nodes/${later.id}/points?epoch=${epoch}`)).status).toBe(404);
	});
});

describe("staff accounts", () => {
	// DESIGN §2: staff "adjusts points with an audit trail"; settling, credits and roles stay with the admin token.
	it("adjust points and flag nodes as themselves, but cannot settle, grant credits or change roles", async () => {
		const node = await registerNode(await newAccount());
		const staff = await newAccount("staffer");
		await makeStaff(staff);
		const { epoch } = await settle();
		const adj = await callJson<{ adjustment: { author: string } }>("/v1/admin/adjustments", {
			auth: staff.key,
			body: { node_id: node.id, epoch, points: 40, reason: "challenge server outage" },
		});
		expect(adj.status).toBe(201);
		expect(adj.body.adjustment.author).toBe(staff.id);
		expect((await points(node, epoch)).adjustments).toEqual([
			expect.objectContaining({ points: 40, author: staff.id, reason: "challenge server outage" }),
		]);
		expect(
			(
				await callJson("/v1/admin/flags", {
					auth: staff.key,
					body: { node_id: node.id, code: "staff_flag", reason: "flagged by staff", share: 0.2 },
				})
			).status,
		).toBe(201);
		const before = await auditRows();
		expect((await callJson("/v1/admin/epochs/settle", { auth: staff.key, body: {} })).status).toBe(403);
		expect(
			(await callJson("/v1/admin/credits", { auth: staff.key, body: { account_id: staff.id, amount_cents: 100 } }))
				.status,
		).toBe(403);
		expect(
			(
				await callJson(`/v1/admin/accounts/${staff.id}/role`, {
					method: "PUT",
					auth: staff.key,
					body: { role: "staff" },
				})
			).status,
		).toBe(403);
		expect(await auditRows()).toBe(before);
		await makeStaff(staff, "user"); // the role is checked on every call
		expect(
			(
				await callJson("/v1/admin/adjustments", {
					auth: staff.key,
					body: { node_id: node.id, epoch, points: 40, reason: "once more, as a user" },
				})
			).status,
		).toBe(403);
		expect((await points(node, epoch)).adjustments).toHaveLength(1);
	});
});

describe("the cron", () => {
	it("closes epochs at their exact EPOCH_SECONDS boundaries and settles them, catching up after downtime", async () => {
		const { epoch: before } = await settle();
		const open = await env.DB.prepare("SELECT n, started_at FROM epochs WHERE n = ?")
			.bind(before + 1)
			.first<{ n: number; started_at: number }>();
		const hour = 3600_000;
		time.at = (open?.started_at as number) + 2.5 * hour; // the cron's tick, by this file's time
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: time.at }), env, ctx);
		await waitOnExecutionContext(ctx);
		const rows = await env.DB.prepare(
			"SELECT n, started_at, ended_at, settled_at, root FROM epochs WHERE n > ? ORDER BY n",
		)
			.bind(before)
			.all<{
				n: number;
				started_at: number;
				ended_at: number | null;
				settled_at: number | null;
				root: string | null;
			}>();
		const [first, second, third] = rows.results;
		expect(first?.ended_at).toBe((open?.started_at as number) + hour);
		expect(second?.ended_at).toBe((open?.started_at as number) + 2 * hour);
		expect(first?.settled_at).not.toBeNull();
		expect(second?.root).toMatch(/^[0-9a-f]{64}$/);
		expect(third?.ended_at).toBeNull(); // the epoch now running
	});
});
