// Rented work earns points: the compute part of the ledger comes from recorded rental intervals (own file: own capacity
// pool).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TEST_ADMIN_TOKEN, callJson, eventually, grant, heardAt, newAccount, onlineFleet } from "./helpers.ts";

async function deploy(key: string, body: Record<string, unknown>) {
	return callJson<{ cluster: { id: string } }>("/v1/clusters", { auth: key, body });
}

async function cluster(key: string, id: string) {
	return (await callJson<{ cluster: { status: string } }>(`/v1/clusters/${id}`, { auth: key })).body.cluster;
}

describe("rented time in the points ledger", () => {
	it("feeds rented GPU-seconds into the points ledger's compute part", async () => {
		const { fleet, stopAll } = await onlineFleet(1, { gpu_model: "RTX 4090", gpu_count: 2 });
		const renter = await newAccount();
		await grant(renter.id, 100_000);
		await callJson("/v1/admin/epochs/settle", { auth: TEST_ADMIN_TOKEN, body: {} });
		const { body } = await deploy(renter.key, { gpu_model: "RTX 4090", gpu_count: 2, hours: 1 });
		await eventually(async () => (await cluster(renter.key, body.cluster.id)).status === "running");
		// Deleted 2.5 s later on the cluster's clock, and the epoch closed then on the settler's: no waiting for it.
		const later = Date.now() + 2500;
		await heardAt([fleet[0]?.node.id as string], later); // its keepalives went on until then
		expect(await env.CLUSTERS.getByName(body.cluster.id).terminate(later)).toMatchObject({ status: "terminated" });
		const { settled } = await env.SETTLER.getByName("global").settleNow(later + 1);
		const epoch = settled.at(-1)?.epoch;
		type Points = { inputs: { rented_gpu_seconds: number }; terms: { compute_points: number } };
		const { body: p } = await callJson<Points>(`/v1/nodes/${fleet[0]?.node.id}/points?epoch=${epoch}`);
		expect(p.inputs.rented_gpu_seconds).toBeGreaterThanOrEqual(4); // 2 GPUs × ≥ 2 s
		expect(p.terms.compute_points).toBeGreaterThan(0);
		stopAll();
	});
});
