// Rented work earns points only when an independent renter paid for it: the compute part of the ledger comes from
// recorded rental intervals, the renter and price of each cluster (own file: own capacity pool).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { computePoints, paidGpuSeconds } from "../../workers/domain/points.ts";
import { TEST_ADMIN_TOKEN, callJson, eventually, grant, heardAt, newAccount, onlineFleet } from "./helpers.ts";

interface ClusterView {
	id: string;
	status: string;
	charged_cents: number;
	price_per_gpu_hour_cents: number;
}

async function cluster(key: string, id: string): Promise<ClusterView> {
	return (await callJson<{ cluster: ClusterView }>(`/v1/clusters/${id}`, { auth: key })).body.cluster;
}

/** Deploys one 2-GPU cluster of `model` for `renter` and waits until it runs. */
async function rent(renter: { key: string }, model: string): Promise<ClusterView> {
	const { status, body } = await callJson<{ cluster: ClusterView }>("/v1/clusters", {
		auth: renter.key,
		body: { gpu_model: model, gpu_count: 2, hours: 1 },
	});
	expect(status).toBe(201);
	await eventually(async () => (await cluster(renter.key, body.cluster.id)).status === "running");
	return body.cluster;
}

interface Breakdown {
	leaf_version: number;
	inputs: {
		gpu_model: string;
		gpu_count: number;
		verified: boolean;
		probation: boolean;
		address_share_bp: number;
		bandwidth_factor_bp: number;
		online_seconds: number;
		incident_seconds: number;
		rented_gpu_seconds: number;
		self_rented_gpu_seconds: number;
		unpaid_gpu_seconds: number;
		challenges: { issued: number; passed: number; failed: number; missed: number };
	};
	terms: { counted_gpu_seconds: number; compute_points: number; availability_points: number };
	leaf: Record<string, unknown>;
}

describe("rented time in the points ledger", () => {
	it("pays compute points only for time an independent renter paid for, and says why the rest did not", async () => {
		await callJson("/v1/admin/epochs/settle", { auth: TEST_ADMIN_TOKEN, body: {} });
		// The case: an operator renting its own node for 60 s (its charge comes back to it as payouts).
		const own = await onlineFleet(1, { gpu_model: "RTX 4090", gpu_count: 2 });
		await grant(own.owner.id, 100_000);
		const selfRented = await rent(own.owner, "RTX 4090");
		// A rental too short to cost a cent: 2.5 s of 2 GPUs at 22¢ per GPU-hour is 0.03¢.
		const brief = await onlineFleet(1, { gpu_model: "RTX 3090", gpu_count: 2 });
		const quick = await newAccount("quick");
		await grant(quick.id, 100_000);
		const short = await rent(quick, "RTX 3090");
		// An independent renter for 100 s: 200 GPU-seconds at 29¢, charged 1¢, which pays for 124 GPU-seconds.
		const paid = await onlineFleet(1, { gpu_model: "RTX 4080", gpu_count: 2 });
		const renter = await newAccount("renter");
		await grant(renter.id, 100_000);
		const bought = await rent(renter, "RTX 4080");

		// Each ends on its cluster's clock, its node heard until then; the epoch closes after the last on the settler's.
		const now = Date.now();
		const ends = [
			{ c: selfRented, key: own.owner.key, node: own.fleet[0]?.node.id as string, at: now + 60_000 },
			{ c: short, key: quick.key, node: brief.fleet[0]?.node.id as string, at: now + 2_500 },
			{ c: bought, key: renter.key, node: paid.fleet[0]?.node.id as string, at: now + 100_000 },
		];
		for (const e of ends) {
			await heardAt([e.node], e.at);
			expect(await env.CLUSTERS.getByName(e.c.id).terminate(e.at)).toMatchObject({ status: "terminated" });
		}
		const { settled } = await env.SETTLER.getByName("global").settleNow(now + 100_001);
		const epoch = settled.at(-1)?.epoch;
		const points = async (nodeId: string) =>
			(await callJson<Breakdown>(`/v1/nodes/${nodeId}/points?epoch=${epoch}`)).body;

		// Self-rented: all of it is in the row as self-rented, none of it earns.
		const s = await points(ends[0]?.node as string);
		expect(s.inputs.rented_gpu_seconds).toBeGreaterThanOrEqual(2 * 59);
		expect(s.inputs.self_rented_gpu_seconds).toBe(s.inputs.rented_gpu_seconds);
		expect(s.inputs.unpaid_gpu_seconds).toBe(0);
		expect(s.terms).toMatchObject({ counted_gpu_seconds: 0, compute_points: 0 });
		expect(s.leaf).toMatchObject({ leaf_version: 3, self_rented_gpu_seconds: s.inputs.rented_gpu_seconds });
		expect((await cluster(own.owner.key, selfRented.id)).charged_cents).toBeGreaterThan(0); // it did pay itself

		// Too short to cost anything: unpaid, no points (it was free: 0¢ charged).
		const q = await points(ends[1]?.node as string);
		expect(q.inputs.rented_gpu_seconds).toBeGreaterThanOrEqual(4);
		expect(q.inputs).toMatchObject({ self_rented_gpu_seconds: 0, unpaid_gpu_seconds: q.inputs.rented_gpu_seconds });
		expect(q.terms.compute_points).toBe(0);
		expect((await cluster(quick.key, short.id)).charged_cents).toBe(0);

		// Independent and paid: what the whole cents of its price cover counts, and no more than the bill charged.
		const b = await points(ends[2]?.node as string);
		const view = await cluster(renter.key, bought.id);
		const counted = paidGpuSeconds(b.inputs.rented_gpu_seconds, view.price_per_gpu_hour_cents);
		expect(counted).toBeGreaterThan(0);
		expect(b.inputs).toMatchObject({
			self_rented_gpu_seconds: 0,
			unpaid_gpu_seconds: b.inputs.rented_gpu_seconds - counted,
		});
		expect(b.terms.counted_gpu_seconds).toBe(counted);
		expect(counted * view.price_per_gpu_hour_cents).toBeLessThanOrEqual(view.charged_cents * 3600);
		expect(b.terms.compute_points).toBe(computePoints({ ...b.inputs, penalties: [] }).compute_points);
		expect(b.terms.compute_points).toBeGreaterThan(0);
		for (const f of [own, brief, paid]) f.stopAll();
	});
});
