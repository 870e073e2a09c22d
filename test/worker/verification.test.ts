// Hardware verification state: shown with the node, read by the ledger, and tied to the claim it checked.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import { systemClock } from "../../durable-objects/kit.ts";
import { TEST_ADMIN_TOKEN } from "../constants.ts";
import { recordVerification } from "../../workers/db/verifications.ts";
import { fromBase64url } from "../../workers/domain/challenge.ts";
import { type Shape, solve, wordsToBase64url } from "../../workers/domain/matmul.ts";
import {
	HARDWARE,
	callJson,
	connect,
	eventually,
	markVerified,
	type Link,
	newAccount,
	registerNode,
	setClock,
	shardOf,
	stopClock,
	sweepAt,
	type TestNode,
} from "./helpers.ts";

interface Hardware {
	verified: boolean;
	verification: { state: string; tier?: string; measured_ms?: number; reason?: string; evidence?: unknown };
}

/** The node's hardware as its owner sees it (a failure's evidence is the owner's alone). */
async function hardware(node: TestNode): Promise<Hardware> {
	const res = await callJson<{ node: { hardware: Hardware } }>(`/v1/nodes/${node.id}`, { auth: node.owner.key });
	return res.body.node.hardware;
}

const claim = { gpu_model: HARDWARE.gpu_model, gpu_count: HARDWARE.gpu_count };

describe("hardware verification", () => {
	it("is unverified until a verification of the node's claim is recorded, and shows it with the node", async () => {
		const node = await registerNode(await newAccount());
		expect(await hardware(node)).toMatchObject({ verified: false, verification: { state: "unverified" } });
		await recordVerification(env.DB, node.id, {
			state: "verified",
			...claim,
			tier: "consumer-high",
			measured_ms: 1840,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.parse("2026-12-01T00:00:00Z"),
		});
		expect(await hardware(node)).toMatchObject({
			verified: true,
			verification: {
				state: "verified",
				tier: "consumer-high",
				measured_ms: 1840,
				verified_at: "2026-12-01T00:00:00.000Z",
				method: "matmul-freivalds-v1",
			},
		});
	});

	it("counts for the claim it checked only: another GPU count is unverified again", async () => {
		const node = await registerNode(await newAccount());
		await recordVerification(env.DB, node.id, {
			state: "verified",
			gpu_model: claim.gpu_model,
			gpu_count: claim.gpu_count + 7,
			tier: "consumer-high",
			measured_ms: 1000,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.now(),
		});
		expect((await hardware(node)).verification).toEqual({ state: "unverified" });
	});

	it("shows a failure with its reason to anyone, and its evidence to the owner", async () => {
		const node = await registerNode(await newAccount());
		const evidence = { attempts: [{ measured_ms: 9100, deadline_ms: 2600 }] };
		await recordVerification(env.DB, node.id, {
			state: "failed",
			...claim,
			tier: null,
			measured_ms: null,
			method: "matmul-freivalds-v1",
			reason: "late",
			evidence: JSON.stringify(evidence),
			updated_at: Date.now(),
		});
		expect((await hardware(node)).verification).toMatchObject({ state: "failed", reason: "late", evidence });
		const pub = await callJson<{ node: { hardware: Hardware } }>(`/v1/nodes/${node.id}`);
		expect(pub.body.node.hardware.verification).toEqual({
			state: "failed",
			reason: "late",
			failed_at: expect.any(String),
		});
	});

	it("is what the ledger records: a verified node's row says verified and earns the full tier weight", async () => {
		const owner = await newAccount();
		const plain = await registerNode(owner, { region: "verif" });
		const proven = await registerNode(owner, { region: "verif" });
		await markVerified(proven);
		const settler = env.SETTLER.getByName("global");
		await settler.settleNow(Date.now());
		for (const n of [plain, proven]) await (await connect(n)).next("welcome");
		const { settled } = await settler.settleNow(Date.now() + 3000);
		const epoch = settled.at(-1)?.epoch as number;
		const row = (n: TestNode) =>
			env.DB.prepare("SELECT * FROM points_ledger WHERE epoch = ? AND node_id = ?")
				.bind(epoch, n.id)
				.first<LedgerRow>();
		const [p, v] = [await row(plain), await row(proven)];
		expect([p?.verified, v?.verified]).toEqual([0, 1]);
		const breakdown = (n: TestNode) =>
			callJson<{ inputs: { verified: boolean }; terms: { credited_gpus: number; effective_weight: number } }>(
				`/v1/nodes/${n.id}/points?epoch=${epoch}`,
			);
		expect((await breakdown(proven)).body).toMatchObject({
			inputs: { verified: true },
			terms: { credited_gpus: claim.gpu_count, effective_weight: 1 },
		});
		// Not verified: one GPU of the lowest tier (docs/POINTS.md).
		expect((await breakdown(plain)).body.terms).toMatchObject({ credited_gpus: 1, effective_weight: 0.15 });
		expect(v?.points).toBeGreaterThan(p?.points ?? 0); // same time online: the verified one earns its full weight
	});
});

/** The reference solver (workers/domain/matmul.ts `solve`), its openings encoded as `verify_open` carries them. */
async function answers(seedB64: string, shape: Shape) {
	const solution = await solve(fromBase64url(seedB64) as Uint8Array, shape);
	const open = (asked: number[], tamper = false) =>
		solution.open(asked).map(({ i, values, path }, k) => {
			if (tamper && k === 0) values[0] = (values[0] as number) + 1;
			return { i, values: wordsToBase64url(values), path };
		});
	return { root: solution.root, open };
}

interface VerifyMsg {
	id: string;
	seed: string;
	shape: Shape;
	deadline: string;
}

async function verifying(gpu_count = 1) {
	const node = await registerNode(await newAccount(), { hardware: { ...HARDWARE, gpu_count } });
	const link = await connect(node);
	await link.next("welcome");
	const parts: VerifyMsg[] = [];
	for (let k = 0; k < gpu_count; k++) parts.push((await link.next("verify")) as unknown as VerifyMsg);
	return { node, link, parts };
}

const send = (link: Link, msg: object) => link.ws.send(JSON.stringify(msg));

describe("the compute challenge on the wire", () => {
	it("verifies a node that commits in time and opens rows that check, on every claimed GPU at once", async () => {
		const { node, link, parts } = await verifying(2);
		expect(parts).toHaveLength(2);
		expect(new Set(parts.map((p) => p.seed)).size).toBe(2); // one seed per GPU
		for (const p of parts) send(link, { type: "verify_ack", id: p.id });
		const solved = await Promise.all(parts.map((p) => answers(p.seed, p.shape)));
		parts.forEach((p, k) => send(link, { type: "verify_commit", id: p.id, root: solved[k]?.root }));
		for (let k = 0; k < parts.length; k++) {
			const reveal = (await link.next("verify_reveal")) as unknown as { id: string; r: string; rows: number[] };
			const which = parts.findIndex((p) => p.id === reveal.id);
			expect(reveal.rows.length).toBe(32);
			send(link, { type: "verify_open", id: reveal.id, rows: solved[which]?.open(reveal.rows) });
		}
		expect(await link.next("verify_result")).toMatchObject({ state: "verified" });
		expect(await hardware(node)).toMatchObject({
			verified: true,
			verification: { state: "verified", tier: "consumer-high", method: "matmul-freivalds-v1" },
		});
	});

	it("fails a node whose opened row does not check, with the check's reason as evidence", async () => {
		const { node, link, parts } = await verifying();
		const p = parts[0] as VerifyMsg;
		send(link, { type: "verify_ack", id: p.id });
		const s = await answers(p.seed, p.shape);
		send(link, { type: "verify_commit", id: p.id, root: s.root });
		const reveal = (await link.next("verify_reveal")) as unknown as { rows: number[] };
		send(link, { type: "verify_open", id: p.id, rows: s.open(reveal.rows, true) });
		expect(await link.next("verify_result")).toMatchObject({ state: "failed", reason: "wrong_answer" });
		const v = (await hardware(node)).verification as { evidence: { parts: { detail: string }[] } };
		expect(v).toMatchObject({ state: "failed", reason: "wrong_answer" });
		expect(v.evidence.parts[0]?.detail).toMatch(/^bad_path/); // a changed value no longer hashes into the root
	});

	it("fails a node late twice in a row, timed by the coordinator (once is a retry)", async () => {
		const { node, link, parts } = await verifying();
		const p = parts[0] as VerifyMsg;
		send(link, { type: "verify_ack", id: p.id });
		const s = await answers(p.seed, p.shape);
		const shard = await shardOf(node);
		const clock = await stopClock(shard);
		clock.at = Date.parse(p.deadline) + 1; // the commit arrives, by the coordinator's clock, after the deadline
		send(link, { type: "verify_commit", id: p.id, root: s.root });
		expect(await link.next("verify_result")).toMatchObject({ state: "failed", reason: "late" });
		// One late attempt on a jittery line is not a failure yet: the node is challenged again on its next connection.
		expect((await hardware(node)).verification).toEqual({ state: "unverified", failures: 1 });
		await setClock(shard, systemClock);
		send(link, { type: "bye" });
		await link.closed;
		const again = await connect(node);
		const q = (await again.next("verify")) as unknown as VerifyMsg;
		send(again, { type: "verify_ack", id: q.id });
		const clock2 = await stopClock(shard);
		clock2.at = Date.parse(q.deadline) + 1;
		send(again, { type: "verify_commit", id: q.id, root: (await answers(q.seed, q.shape)).root });
		expect(await again.next("verify_result")).toMatchObject({ state: "failed", reason: "late" });
		expect((await hardware(node)).verification).toMatchObject({ state: "failed", reason: "late" });
		await setClock(shard, systemClock); // the shard's own clock again, for the tests after this one
	});

	it("records nothing for an agent that declines, or never answers (it stays unverified)", async () => {
		const declined = await verifying();
		send(declined.link, { type: "verify_ack", id: declined.parts[0]?.id });
		send(declined.link, { type: "verify_decline", id: declined.parts[0]?.id, reason: "too big for the CPU solver" });
		const silent = await verifying();
		const shard = await shardOf(silent.node);
		await sweepAt(shard, Date.parse(silent.parts[0]?.deadline as string) + 1);
		for (const n of [declined.node, silent.node]) {
			await eventually(async () => {
				const v = (await hardware(n)).verification;
				return v.state === "unverified";
			});
		}
		const rows = await env.DB.prepare("SELECT count(*) AS n FROM node_verifications WHERE node_id IN (?, ?)")
			.bind(declined.node.id, silent.node.id)
			.first<{ n: number }>();
		expect(rows?.n).toBe(0);
	});

	it("does not challenge a node whose claim is already verified", async () => {
		const node = await registerNode(await newAccount());
		await recordVerification(env.DB, node.id, {
			state: "verified",
			...claim,
			tier: "consumer-high",
			measured_ms: 1,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.now(),
		});
		const link = await connect(node);
		await link.next("welcome");
		send(link, { type: "bye" });
		await link.closed;
		expect(link.messages.map((m) => m.type)).not.toContain("verify");
	});
});

describe("verified hardware in the network's figures and placement", () => {
	it("counts verified GPUs apart in /v1/stats and rents verified nodes first, saying when it could not", async () => {
		const hw = { ...HARDWARE, gpu_model: "NVIDIA L40S", gpu_count: 1 };
		const owner = await newAccount();
		const [proven, plain] = [await registerNode(owner, { hardware: hw }), await registerNode(owner, { hardware: hw })];
		await recordVerification(env.DB, (proven as TestNode).id, {
			state: "verified",
			gpu_model: hw.gpu_model,
			gpu_count: 1,
			tier: "datacenter",
			measured_ms: 900,
			method: "matmul-freivalds-v1",
			reason: null,
			evidence: null,
			updated_at: Date.now(),
		});
		const stats = async () =>
			(
				await callJson<{ gpus_online: number; gpus_verified_online: number; by_model: { gpu_model: string }[] }>(
					"/v1/stats",
				)
			).body;
		const before = await stats();
		for (const n of [plain, proven] as TestNode[]) await (await connect(n)).next("welcome");
		await eventually(async () => (await stats()).gpus_online === before.gpus_online + 2);
		expect((await stats()).gpus_verified_online).toBe(before.gpus_verified_online + 1);
		expect((await stats()).by_model).toContainEqual(
			expect.objectContaining({ gpu_model: "NVIDIA L40S", gpus: 2, verified_gpus: 1 }),
		);
		const renter = await newAccount("renter");
		await callJson("/v1/admin/credits", {
			auth: TEST_ADMIN_TOKEN,
			body: { account_id: renter.id, amount_cents: 100_000 },
		});
		type Created = {
			cluster: { nodes: { node_id: string }[]; events: { kind: string; unverified_nodes?: string[] }[] };
		};
		const deploy = () =>
			callJson<Created>("/v1/clusters", { auth: renter.key, body: { gpu_model: "L40S", gpu_count: 1, hours: 1 } });
		const first = (await deploy()).body.cluster;
		expect(first.nodes.map((n) => n.node_id)).toEqual([(proven as TestNode).id]); // the verified one first
		expect(first.events.find((e) => e.kind === "created")?.unverified_nodes).toBeUndefined();
		const second = (await deploy()).body.cluster;
		expect(second.nodes.map((n) => n.node_id)).toEqual([(plain as TestNode).id]);
		expect(second.events.find((e) => e.kind === "created")?.unverified_nodes).toEqual([(plain as TestNode).id]);
	});
});

describe("verification messages the coordinator does not take", () => {
	it("refuses a commit never issued, a second commit and an opening before its reveal, and counts them", async () => {
		const { node, link, parts } = await verifying();
		const p = parts[0] as VerifyMsg;
		const refusals = async () => (await shardOf(node)).metricsSnapshot().then((m) => m.verifyRefused);
		const before = await refusals();
		send(link, { type: "verify_ack", id: p.id });
		send(link, { type: "verify_open", id: p.id, rows: [] }); // nothing revealed yet
		send(link, { type: "verify_commit", id: "vrf_never_issued", root: "ab".repeat(32) });
		const s = await answers(p.seed, p.shape);
		send(link, { type: "verify_commit", id: p.id, root: s.root });
		await link.next("verify_reveal");
		send(link, { type: "verify_commit", id: p.id, root: s.root }); // a repeat
		const errors = (await eventually(async () => {
			const seen = link.messages.filter((m) => m.type === "error");
			return seen.length >= 3 ? seen : null;
		})) as Record<string, unknown>[];
		expect(errors.map((e) => [e.code, e.message])).toEqual([
			["verify_refused", `'${p.id}' has not been revealed`],
			["verify_refused", "'vrf_never_issued' is not a challenge issued to this node"],
			["verify_refused", `'${p.id}' is committed already`],
		]);
		expect((await refusals()) - before).toBe(3);
		expect((await hardware(node)).verification.state).toBe("unverified"); // still running: nothing recorded
	});
});
