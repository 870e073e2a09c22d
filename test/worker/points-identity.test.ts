// The ledger's identity rules from known inputs (docs/POINTS.md): verified hardware against a claim, probation after
// registration, the availability allowance of one address, the bandwidth factor, and share-1 flags. Inputs are written
// as the coordinator records them (online intervals, verifications, the address of the latest connection, timed
// transfers) and epochs are closed at chosen moments, so every figure is known in advance.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { EpochSettler } from "../../durable-objects/EpochSettler.ts";
import { readConfig } from "../../workers/config.ts";
import { recordSample } from "../../workers/db/bandwidth.ts";
import type { LedgerRow } from "../../workers/db/ledger.ts";
import { recordVerification } from "../../workers/db/verifications.ts";
import {
	LEAF_FIELDS_V1,
	leafHash,
	merkleRoot,
	verifyProof,
	type LeafRow,
	type ProofStep,
} from "../../workers/domain/merkle.ts";
import { computePoints } from "../../workers/domain/points.ts";
import type { Settings } from "../../workers/domain/settings.ts";
import {
	HARDWARE,
	TEST_ADMIN_TOKEN,
	callJson,
	newAccount,
	registerNode,
	registeredAgo,
	type TestNode,
} from "./helpers.ts";
import { ledgerRow as row, online, openEpoch } from "./ledger-fixtures.ts";

const S = 1000;
const H = 3600 * S;

const settler = () => env.SETTLER.getByName("global");

/** The address of the node's latest connection, as the node link files it (`node_identity`, migration 0010). */
async function behind(node: TestNode, addressKey: string): Promise<void> {
	await env.DB.prepare(
		`INSERT INTO node_identity (node_id, address, address_key, network, first_seen_at, seen_at)
		 VALUES (?1, ?2, ?2, ?3, ?4, ?4)
		 ON CONFLICT (node_id) DO UPDATE SET address = ?2, address_key = ?2, network = ?3`,
	)
		.bind(node.id, addressKey, `${addressKey}/24`, Date.now())
		.run();
}

/** A verification of the node's current claim, as the shard records it when a verification ends. */
async function verify(node: TestNode, claim: { gpu_model: string; gpu_count: number }, failed?: "shared_hardware") {
	await recordVerification(env.DB, node.id, {
		state: failed ? "failed" : "verified",
		...claim,
		tier: failed ? null : "datacenter-hopper",
		measured_ms: 1200,
		method: "matmul-freivalds-v1",
		reason: failed ?? null,
		evidence: null,
		updated_at: Date.now(),
	});
}

const h100 = (gpu_count: number) => ({ ...HARDWARE, gpu_model: "H100", gpu_count });

/** Closes the open epoch `length` ms after its start, exactly there, and settles it; its number. */
async function closeAfter(length: number): Promise<number> {
	const open = await openEpoch();
	const result = await settler().settleNow(open.started_at + length);
	expect(result.done).toBe(true);
	expect(result.settled.map((s) => s.epoch)).toContain(open.n);
	return open.n;
}

/** Runs `fn` with the settler's settings changed, then drops the object's memory so it reads the bindings again. */
async function withSettings<T>(change: Partial<Settings>, fn: () => Promise<T>): Promise<T> {
	await runInDurableObject(settler(), (o: EpochSettler) => {
		const settings = { ...readConfig(env).liveness, ...change };
		(o as unknown as { s: Settings }).s = settings;
	});
	try {
		return await fn();
	} finally {
		await evictDurableObject(settler());
	}
}

/** What the documented formula gives for a stored row's recorded inputs. */
function recomputed(r: LedgerRow) {
	return computePoints({
		gpu_model: r.gpu_model,
		gpu_count: r.gpu_count,
		verified: r.verified === 1,
		probation: r.probation === 1,
		address_share_bp: r.address_share_bp as number,
		bandwidth_factor_bp: r.bandwidth_factor_bp as number,
		online_seconds: r.online_seconds,
		incident_seconds: r.incident_seconds,
		rented_gpu_seconds: r.rented_gpu_seconds,
		self_rented_gpu_seconds: r.self_rented_gpu_seconds ?? 0,
		unpaid_gpu_seconds: r.unpaid_gpu_seconds ?? 0,
		challenges: { issued: 0, passed: 0, failed: 0, missed: 0 },
		penalties: JSON.parse(r.penalties),
	});
}

beforeAll(async () => {
	await settler().tick(Date.now()); // the first epoch starts now
	await closeAfter(1); // and ends at once: the tests' epochs start after every node below registered
});

describe("verification in the ledger", () => {
	it("pays a verified node its tier for every GPU, a failed or unverified one one GPU of the lowest tier", async () => {
		const owner = await newAccount("verifier");
		const [proven, plain, failed] = [
			await registerNode(owner, { hardware: h100(4) }),
			await registerNode(owner, { hardware: h100(4) }),
			await registerNode(owner, { hardware: h100(4) }),
		];
		await verify(proven, h100(4));
		await verify(failed, h100(4), "shared_hardware");
		const open = await openEpoch();
		for (const n of [proven, plain, failed]) await online(n, open.started_at, open.started_at + H);
		const e = await closeAfter(H);

		const [p, u, f] = [await row(e, proven), await row(e, plain), await row(e, failed)];
		// A whole hour online, never measured for bandwidth (×0.9): 4 × 3.0 × 3600 × 0.9, and 1 × 0.15 × 3600 × 0.9.
		expect(p).toMatchObject({ leaf_version: 3, verified: 1, credited_gpus: 4, effective_weight_bp: 30000 });
		expect(p).toMatchObject({ bandwidth_tier: "unmeasured", bandwidth_factor_bp: 9000, availability_points: 38880 });
		for (const r of [u, f]) {
			expect(r).toMatchObject({ verified: 0, credited_gpus: 1, effective_weight_bp: 1500, availability_points: 486 });
			expect(r).toMatchObject({ tier: "datacenter-hopper", tier_weight_bp: 30000 }); // the claim's tier, still shown
		}
		for (const r of [p, u, f]) {
			expect(recomputed(r).points).toBe(r.points);
			expect(await leafHash(r as unknown as LeafRow)).toBe(r.leaf);
		}

		const { status, body } = await callJson<Record<string, unknown>>(`/v1/nodes/${proven.id}/points?epoch=${e}`);
		expect(status).toBe(200);
		expect(body).toMatchObject({
			leaf_version: 3,
			inputs: { verified: true, probation: false, address_share_bp: 10000, bandwidth_tier: "unmeasured" },
			terms: { credited_gpus: 4, effective_weight: 3, address_share: 1, bandwidth_factor: 0.9 },
			formula: { availability: expect.stringMatching(/credited_gpus × effective_weight/) },
		});
		// The breakdown is what /openapi.json says it is.
		type Doc = {
			paths: Record<string, { get: { responses: { 200: { content: Record<string, { schema: object }> } } } }>;
		};
		const doc = (await callJson<Doc>("/openapi.json")).body;
		const schema = doc.paths["/v1/nodes/{id}/points"]?.get.responses[200].content["application/json"]?.schema;
		const parsed = z.fromJSONSchema(schema as Record<string, unknown>).safeParse(body);
		expect(parsed.success, parsed.error?.message).toBe(true);
	});

	it("gives a node flagged shared_hardware with share 1 nothing, and names the flag in its breakdown", async () => {
		const owner = await newAccount("sharer");
		const node = await registerNode(owner, { hardware: h100(2) });
		await verify(node, h100(2));
		const flag = await callJson("/v1/admin/flags", {
			auth: TEST_ADMIN_TOKEN,
			body: { node_id: node.id, code: "shared_hardware", reason: "late together with node_x in round vr_1", share: 1 },
		});
		expect(flag.status).toBe(201);
		const open = await openEpoch();
		await online(node, open.started_at, open.started_at + 600 * S);
		const e = await closeAfter(H);
		const r = await row(e, node);
		expect(r.availability_points).toBeGreaterThan(0);
		expect(r).toMatchObject({ points: 0, penalty_points: r.availability_points });
		const { body } = await callJson<{ points: number; terms: { penalties: { code: string; share: number }[] } }>(
			`/v1/nodes/${node.id}/points?epoch=${e}`,
		);
		expect(body.points).toBe(0);
		expect(body.terms.penalties).toEqual([expect.objectContaining({ code: "shared_hardware", share: 1 })]);
	});
});

describe("probation", () => {
	it("pays no availability in epochs starting within PROBATION_S of registration, but pays rented time", async () => {
		const owner = await newAccount("newcomer");
		const node = await registerNode(owner, { hardware: h100(1) });
		await verify(node, h100(1));
		// Rented by another account at 360¢ per GPU-hour (1¢ pays for 10 GPU-seconds): every second is paid for.
		const renter = await newAccount("renter");
		await env.DB.prepare(
			`INSERT INTO clusters (id, account_id, gpu_model, gpu_count, hours, status, price_cents, created_at)
			VALUES ('clu_probation', ?, 'H100', 1, 1, 'completed', 360, 0)`,
		)
			.bind(renter.id)
			.run();
		const rented = async (from: number, to: number) =>
			env.DB.prepare(
				"INSERT INTO rentals (node_id, cluster_id, gpu_count, started_at, ended_at) VALUES (?, 'clu_probation', 1, ?, ?)",
			)
				.bind(node.id, from, to)
				.run();
		await withSettings({ probationS: 86_400 }, async () => {
			let open = await openEpoch();
			await online(node, open.started_at, open.started_at + H);
			await rented(open.started_at, open.started_at + 600 * S);
			const first = await row(await closeAfter(H), node);
			// On probation: no availability; 600 rented GPU-seconds × 3.0 × 2 still count.
			expect(first).toMatchObject({ probation: 1, availability_points: 0, compute_points: 3600, points: 3600 });

			await registeredAgo(node, 2 * 86_400 * S); // registered two days before: past its probation
			open = await openEpoch();
			await online(node, open.started_at, open.started_at + H);
			const later = await row(await closeAfter(H), node);
			expect(later).toMatchObject({ probation: 0, availability_points: 9720 }); // 1 × 3.0 × 3600 × 0.9
		});
	});
});

describe("the address allowance", () => {
	it("shares ADDRESS_ALLOWANCE_GPUS (8) among the GPUs credited behind one address, and no further", async () => {
		const owner = await newAccount("farm");
		const farm = [
			await registerNode(owner, { hardware: h100(4) }),
			await registerNode(owner, { hardware: h100(4) }),
			await registerNode(owner, { hardware: h100(4) }),
		];
		const guest = await registerNode(await newAccount("flatmate"), { hardware: h100(4) }); // unverified: 1 GPU
		const idle = await registerNode(owner, { hardware: h100(4) }); // behind it too, but never online: not counted
		const elsewhere = await registerNode(owner, { hardware: h100(4) });
		for (const n of [...farm, idle, elsewhere]) await verify(n, h100(4));
		for (const n of [...farm, guest, idle]) await behind(n, "203.0.113.9");
		await behind(elsewhere, "2001:db8:7:1::/64");
		let open = await openEpoch();
		for (const n of [...farm, guest, elsewhere]) await online(n, open.started_at, open.started_at + H);
		const e = await closeAfter(H);

		// 4 + 4 + 4 + 1 = 13 GPUs credited behind the address, 8 allowed: floor(8 × 10000 / 13) = 6153 each.
		for (const n of [...farm, guest]) expect((await row(e, n)).address_share_bp).toBe(6153);
		expect(await row(e, farm[0] as TestNode)).toMatchObject({ availability_points: 23922 });
		expect(await row(e, guest)).toMatchObject({ availability_points: 299 });
		expect(await row(e, elsewhere)).toMatchObject({ address_share_bp: 10000, availability_points: 38880 });
		for (const n of [...farm, guest, elsewhere]) {
			const r = await row(e, n);
			expect(recomputed(r).points).toBe(r.points);
		}

		// A co-scheduled round proved 16 GPUs behind the address: its allowance rises to them.
		await env.DB.prepare("INSERT INTO address_allowances (address_key, gpus, round_id, at) VALUES (?, 16, 'vr_t', ?)")
			.bind("203.0.113.9", Date.now())
			.run();
		open = await openEpoch();
		for (const n of [...farm, guest]) await online(n, open.started_at, open.started_at + H);
		const proven = await closeAfter(H);
		for (const n of [...farm, guest]) expect((await row(proven, n)).address_share_bp).toBe(10000);
	});

	it("takes the allowance from ADDRESS_ALLOWANCE_GPUS", async () => {
		const owner = await newAccount("tight");
		const pair = [await registerNode(owner, { hardware: h100(2) }), await registerNode(owner, { hardware: h100(2) })];
		for (const n of pair) {
			await verify(n, h100(2));
			await behind(n, "198.18.0.44");
		}
		const open = await openEpoch();
		for (const n of pair) await online(n, open.started_at, open.started_at + H);
		await withSettings({ addressAllowanceGpus: 3 }, async () => {
			const e = await closeAfter(H);
			for (const n of pair) expect((await row(e, n)).address_share_bp).toBe(7500); // 3 of 4 GPUs
		});
	});
});

describe("the bandwidth factor", () => {
	it("multiplies availability by the node's bandwidth tier's factor", async () => {
		const owner = await newAccount("fibre");
		const node = await registerNode(owner, { hardware: h100(1) });
		await verify(node, h100(1));
		// Four timed transfers each way of 16 MB in 100 ms: about 1,342 Mbps both ways, the `premium` tier (×1.1).
		for (const direction of ["up", "down"] as const)
			for (let k = 0; k < 4; k++) await recordSample(env.DB, node.id, { direction, bytes: 16_777_216, ms: 100, at: k });
		const open = await openEpoch();
		await online(node, open.started_at, open.started_at + H);
		const r = await row(await closeAfter(H), node);
		expect(r).toMatchObject({ bandwidth_tier: "premium", bandwidth_factor_bp: 11000, availability_points: 11880 });
	});
});

describe("rows settled before leaf encoding 2", () => {
	it("keeps serving and proving them with the fields and formula they were settled with", async () => {
		const owner = await newAccount("veteran");
		const node = await registerNode(owner, { hardware: h100(2) });
		const open = await openEpoch();
		await online(node, open.started_at, open.started_at + 1800 * S);
		const e = await closeAfter(H);
		// The row as the code before migration 0012 wrote it: the old formula (2 GPUs × 3.0 × 0.5 for half an hour),
		// version 1, nothing in the new columns, hashed with the version-1 fields; the epoch's root over it.
		const old = { ...(await row(e, node)), availability_points: 5400, points: 5400 };
		const v1 = Object.fromEntries(LEAF_FIELDS_V1.map((f) => [f, old[f]])) as LeafRow;
		const leaf = await leafHash(v1);
		await env.DB.prepare(
			`UPDATE points_ledger SET leaf_version = 1, credited_gpus = NULL, effective_weight_bp = NULL, probation = NULL,
			 address_share_bp = NULL, bandwidth_tier = NULL, bandwidth_factor_bp = NULL, availability_points = 5400,
			 points = 5400, leaf = ? WHERE epoch = ? AND node_id = ?`,
		)
			.bind(leaf, e, node.id)
			.run();
		const leaves = await env.DB.prepare("SELECT leaf FROM points_ledger WHERE epoch = ? ORDER BY node_id")
			.bind(e)
			.all<{ leaf: string }>();
		const root = await merkleRoot(leaves.results.map((l) => l.leaf));
		await env.DB.prepare("UPDATE epochs SET root = ? WHERE n = ?").bind(root, e).run();

		const proof = await callJson<{ root: string; leaf: LeafRow; leaf_hash: string; proof: ProofStep[] }>(
			`/v1/epochs/${e}/proof/${node.id}`,
		);
		expect(proof.status).toBe(200);
		expect(Object.keys(proof.body.leaf)).toEqual([...LEAF_FIELDS_V1]); // no leaf_version: encoding 1
		expect(await leafHash(proof.body.leaf)).toBe(proof.body.leaf_hash);
		expect(await verifyProof(proof.body.leaf, proof.body.proof, root)).toBe(true);
		const { body } = await callJson<Record<string, unknown>>(`/v1/nodes/${node.id}/points?epoch=${e}`);
		expect(body).toMatchObject({
			leaf_version: 1,
			inputs: { verified: false, probation: false, address_share_bp: 10000, bandwidth_tier: null },
			terms: { credited_gpus: 2, effective_weight: 1.5, address_share: 1, bandwidth_factor: 1 },
			formula: { encoding_1: expect.stringMatching(/halved while unverified/) },
			points: 5400,
		});
	});
});
